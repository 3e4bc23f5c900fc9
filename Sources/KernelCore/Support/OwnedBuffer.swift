import CKernelABI
import Glibc

/// Bytes the kernel owns and lends to plugins as `kn_bytes` or `const char *`.
///
/// The storage is malloc'd once and never moves, so a pointer handed across
/// the ABI stays valid exactly as long as the buffer is referenced. A NUL is
/// always appended so the same buffer serves as a C string.
final class OwnedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>
    let count: Int

    /// The empty buffer, shared: most calls have no body or content type.
    static let empty = OwnedBuffer(copying: UnsafeRawBufferPointer(start: nil, count: 0))

    init(copying source: UnsafeRawBufferPointer) {
        count = source.count
        pointer = .allocate(capacity: count + 1)
        if let base = source.baseAddress, count > 0 {
            pointer.update(from: base.assumingMemoryBound(to: UInt8.self), count: count)
        }
        pointer[count] = 0
    }

    convenience init(_ bytes: kn_bytes) {
        self.init(copying: UnsafeRawBufferPointer(start: bytes.ptr, count: bytes.ptr == nil ? 0 : bytes.len))
    }

    convenience init(_ string: String) {
        var string = string
        let count = string.utf8.count
        self.init(count: count) { target in
            string.withUTF8 { source in
                if let base = source.baseAddress { target.update(from: base, count: count) }
            }
        }
    }

    convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { target in
            bytes.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { target.update(from: base, count: source.count) }
            }
        }
    }

    /// A C string, copied.
    convenience init(cString: UnsafePointer<CChar>) {
        self.init(copying: UnsafeRawBufferPointer(start: cString, count: strlen(cString)))
    }

    private init(count: Int, fill: (UnsafeMutablePointer<UInt8>) -> Void) {
        self.count = count
        pointer = .allocate(capacity: count + 1)
        fill(pointer)
        pointer[count] = 0
    }

    deinit { pointer.deallocate() }

    var bytes: kn_bytes { kn_bytes(ptr: UnsafePointer(pointer), len: count) }

    var cString: UnsafePointer<CChar> {
        UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self)
    }

    var string: String {
        String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    var array: [UInt8] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    func equals(_ cString: UnsafePointer<CChar>) -> Bool { strcmp(self.cString, cString) == 0 }
}

/// Protocol names every call carries, made once: `call_new` compares instead
/// of allocating.
enum ProtocolNames {
    static let known = ["http", "ws", "tcp", "internal", "admin", "job"].map(OwnedBuffer.init)

    static func buffer(for name: UnsafePointer<CChar>?) -> OwnedBuffer {
        guard let name else { return known[3] }
        return known.first { $0.equals(name) } ?? OwnedBuffer(cString: name)
    }

    static func buffer(for name: String) -> OwnedBuffer {
        known.first { $0.string == name } ?? OwnedBuffer(name)
    }
}

extension kn_bytes {
    /// The empty slice.
    static var empty: kn_bytes { kn_bytes(ptr: nil, len: 0) }

    var string: String {
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: len), as: UTF8.self)
    }

    var array: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: len))
    }
}

/// A Swift string from a C string that may be NULL.
func optionalString(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

/// Moves a value of a C type across a concurrency boundary where the ABI
/// already guarantees it may be used from any thread.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
