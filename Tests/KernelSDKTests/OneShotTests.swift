import CKernelABI
import XCTest
@testable import KernelSDK

/// The bridge from a C completion to a waiting task: it resumes exactly
/// once, with the completion or with the task's cancellation, whichever
/// comes first.
final class OneShotTests: XCTestCase {
    func testCompletionInsideStartResumesWithItsValue() async throws {
        let value = try await OneShot<Int>.wait { waiter throws(PluginError) in
            OneShot<Int>.take(waiter.retained).resume(.success(42))
        }
        XCTAssertEqual(value, 42)
    }

    func testLaterCompletionFromAnotherThreadResumes() async throws {
        let value = try await OneShot<String>.wait { waiter throws(PluginError) in
            let pointer = SendablePointer(waiter.retained)
            Thread.detachNewThread {
                OneShot<String>.take(pointer.raw).finish(KN_OK, nil, "done")
            }
        }
        XCTAssertEqual(value, "done")
    }

    func testFailedStatusThrowsItsCode() async {
        do {
            _ = try await OneShot<Int>.wait { waiter throws(PluginError) in
                OneShot<Int>.take(waiter.retained).finish(KN_ERR_CONFLICT, "stale version", 0)
            }
            XCTFail("expected a conflict")
        } catch {
            XCTAssertEqual(error.code, .conflict)
            XCTAssertEqual(error.message, "stale version")
        }
    }

    func testStartThatThrowsFailsTheWait() async {
        do {
            _ = try await OneShot<Int>.wait { _ throws(PluginError) in throw PluginError.unavailable("no table") }
            XCTFail("expected unavailable")
        } catch {
            XCTAssertEqual(error.code, .unavailable)
        }
    }

    func testCancellationStopsWaitingAndRunsTheCancelHandlerOnce() async throws {
        let cancels = Counter()
        let pending = PendingCompletion()
        let task = Task { () async throws(PluginError) -> Int in
            try await OneShot<Int>.wait(onCancel: { cancels.increment() }) { waiter throws(PluginError) in
                pending.store(waiter.retained) // never completed before the cancel
            }
        }
        try await waitUntil { pending.isStored }
        task.cancel()
        let result = await task.result
        XCTAssertEqual(cancels.value, 1)
        guard case .failure(let error) = result else { return XCTFail("a cancelled wait returned \(result)") }
        XCTAssertEqual((error as? PluginError)?.code, .cancelled)
        // The C side completes later: nothing is resumed twice, nothing crashes.
        pending.complete(with: 7)
    }

    func testCompletionBeforeCancellationWins() async throws {
        let task = Task { () async throws(PluginError) -> Int in
            try await OneShot<Int>.wait { waiter throws(PluginError) in
                OneShot<Int>.take(waiter.retained).resume(.success(1))
            }
        }
        task.cancel()
        // Either order is allowed by the task's scheduling; both must give exactly one outcome.
        switch await task.result {
        case .success(let value): XCTAssertEqual(value, 1)
        case .failure(let error): XCTAssertEqual((error as? PluginError)?.code, .cancelled)
        }
    }
}

/// A raw pointer handed to another thread in a test.
struct SendablePointer: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    init(_ raw: UnsafeMutableRawPointer) { self.raw = raw }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// A C side that holds its completion until told.
final class PendingCompletion: @unchecked Sendable {
    private let lock = NSLock()
    private var pointer: UnsafeMutableRawPointer?
    func store(_ pointer: UnsafeMutableRawPointer) { lock.withLock { self.pointer = pointer } }
    var isStored: Bool { lock.withLock { pointer != nil } }
    func complete(with value: Int) {
        guard let pointer = lock.withLock({ self.pointer }) else { return }
        XCTAssertFalse(OneShot<Int>.take(pointer).resume(.success(value)), "a second outcome was delivered")
    }
}

/// Waits for `condition` with a deadline.
func waitUntil(timeout: Duration = .seconds(5), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw PluginError(.timeout, "condition not met in \(timeout)") }
        try await Task.sleep(for: .milliseconds(1))
    }
}
