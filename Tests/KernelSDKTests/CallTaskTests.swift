import XCTest
@testable import KernelSDK

/// What a streaming handler's sends wait on: a ready signal newer than the
/// one seen before the refused send, or cancellation. None is lost.
final class CallTaskTests: XCTestCase {
    func testASignalAfterTheRefusalWakesTheSender() async throws {
        let state = CallTask(takesItems: false, canWaitForReady: true)
        let generation = state.readyGeneration
        let waiting = Task { await state.waitForReady(after: generation) }
        state.ready()
        await waiting.value
        XCTAssertEqual(state.readyGeneration, generation + 1)
    }

    func testASignalBetweenTheRefusalAndTheWaitIsNotLost() async {
        let state = CallTask(takesItems: false, canWaitForReady: true)
        let generation = state.readyGeneration
        state.ready() // arrives before the sender suspends
        await state.waitForReady(after: generation) // returns at once instead of hanging
    }

    func testCancellingTheCallWakesTheSender() async throws {
        let state = CallTask(takesItems: false, canWaitForReady: true)
        let waiting = Task { await state.waitForReady(after: state.readyGeneration) }
        state.cancel()
        await waiting.value
        XCTAssertTrue(state.isCancelled)
    }

    func testCancellingTheTaskWakesTheSender() async {
        let state = CallTask(takesItems: false, canWaitForReady: true)
        let generation = state.readyGeneration
        let waiting = Task { await state.waitForReady(after: generation) }
        waiting.cancel()
        await waiting.value
    }

    func testItemsArriveInOrderAndEndWhenTheClientEnds() async throws {
        let state = CallTask(takesItems: true, canWaitForReady: true)
        for n in 1...3 { XCTAssertTrue(state.deliver(Array("{\"n\":\(n)}".utf8), limit: 10)) }
        state.finishItems()
        var numbers: [Int] = []
        for try await item in IncomingItems<Numbered>(task: state) { numbers.append(item.n) }
        XCTAssertEqual(numbers, [1, 2, 3])
    }

    func testUnreadItemsAreBounded() {
        let state = CallTask(takesItems: true, canWaitForReady: true)
        XCTAssertTrue(state.deliver([1], limit: 2))
        XCTAssertTrue(state.deliver([2], limit: 2))
        XCTAssertFalse(state.deliver([3], limit: 2), "a third unread item past a limit of two was accepted")
    }

    func testAnItemThatDoesNotDecodeIsAnInvalidArgument() async {
        let state = CallTask(takesItems: true, canWaitForReady: true)
        _ = state.deliver(Array("{\"m\":1}".utf8), limit: 10)
        var iterator = IncomingItems<Numbered>(task: state).makeAsyncIterator()
        do {
            _ = try await iterator.next()
            XCTFail("a malformed item decoded")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
        }
    }

    func testCancelledItemsThrowCancelled() async {
        let state = CallTask(takesItems: true, canWaitForReady: true)
        state.cancel()
        var iterator = IncomingItems<Numbered>(task: state).makeAsyncIterator()
        do {
            _ = try await iterator.next()
            XCTFail("items of a cancelled call went on")
        } catch {
            XCTAssertEqual(error.code, .cancelled)
        }
    }
}

struct Numbered: Codable, Sendable { var n: Int }
