import Foundation
import KernelClient

// A load generator for the transports: echo calls per second, and idle
// WebSocket connections held.
//
//   load-client echo ws|tcp|http PORT [CONNECTIONS] [IN_FLIGHT_PER_CONNECTION] [SECONDS]
//   load-client idle-ws PORT COUNT          (opens COUNT connections, then waits for Enter)
//
// Each connection keeps IN_FLIGHT calls of `hello.echo` outstanding (one
// waiting task each), so the figure is round trips per second at that depth.

let arguments = CommandLine.arguments
func argument(_ index: Int, _ fallback: Int) -> Int { arguments.count > index ? Int(arguments[index]) ?? fallback : fallback }

guard arguments.count >= 3 else {
    print("usage: load-client echo ws|tcp|http PORT [CONNECTIONS] [IN_FLIGHT] [SECONDS] | load-client idle-ws PORT COUNT")
    exit(2)
}

switch arguments[1] {
case "echo":
    let port = argument(3, 8082)
    let connections = argument(4, 4)
    let depth = argument(5, 16)
    let seconds = argument(6, 5)
    let address: KernelAddress = switch arguments[2] {
    case "tcp": .tcp(port: port)
    case "http": .http(port: port)
    default: .ws(port: port)
    }
    let payload = Array(#"{"message":"0123456789abcdef0123456789abcdef"}"#.utf8)
    let deadline = ContinuousClock.now + .seconds(seconds)
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<connections {
            let client = try await KernelClient.connect(address)
            // http answers in order on one connection: more in flight only pipelines.
            for _ in 0..<depth {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        let answer = try await client.call("hello.echo", json: payload)
                        precondition(answer.body.bytes == payload, "echo mismatch: \(answer.text)")
                        done += 1
                    }
                    return done
                }
            }
        }
        var sum = 0
        for try await done in group { sum += done }
        return sum
    }
    print("\(arguments[2]) echo: \(total) calls in \(seconds) s = \(total / seconds) calls/s (\(connections) connections × \(depth) in flight)")
    exit(0)

case "idle-ws":
    let port = argument(2, 8082)
    let count = argument(3, 1000)
    var clients: [KernelClient] = []
    clients.reserveCapacity(count)
    for index in 0..<count {
        do {
            clients.append(try await KernelClient.connect(.ws(port: port)))
        } catch {
            print("stopped at \(index) connections: \(error)")
            break
        }
    }
    // One call on the last connection proves they are live, not just accepted.
    _ = try await clients.last?.call("hello", json: [])
    print("holding \(clients.count) idle WebSocket connections; press Enter to close them")
    fflush(nil)
    _ = readLine()
    for client in clients { await client.close() }
    exit(0)

default:
    print("unknown mode \(arguments[1])")
    exit(2)
}
