#if canImport(Glibc)
import Glibc
#endif

/// Stops the run when an invariant fails. `precondition` prints no message
/// in optimized builds; this one does, so the crash report says what broke.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    fail(message(), file: file, line: line)
}

func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fputs("fuzz invariant failed at \(file):\(line): \(message)\n", stderr)
    abort()
}

/// The fuzzer's bytes, consumed from the front: a few control bytes, then
/// the texts under test.
struct FuzzInput {
    private(set) var rest: ArraySlice<UInt8>

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        rest = ArraySlice(UnsafeBufferPointer(start: data, count: size))
    }

    /// One control byte (0 when the input is used up).
    mutating func byte() -> UInt8 { rest.popFirst() ?? 0 }

    /// A little-endian integer from the next `count` bytes (fewer at the end).
    mutating func integer(bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for shift in 0..<count { value |= UInt64(byte()) << (8 * UInt64(shift)) }
        return value
    }

    /// The bytes up to the next NUL (or the end); the NUL is consumed.
    mutating func field() -> [UInt8] {
        let end = rest.firstIndex(of: 0) ?? rest.endIndex
        let field = Array(rest[..<end])
        rest = end == rest.endIndex ? [] : rest[(end + 1)...]
        return field
    }

    /// The next field as text, invalid UTF-8 repaired as a String would.
    mutating func text() -> String { String(decoding: field(), as: UTF8.self) }
}
