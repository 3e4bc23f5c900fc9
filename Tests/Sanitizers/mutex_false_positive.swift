// Two threads write a dictionary only inside Mutex.withLock; under
// `swiftc -sanitize=thread` (Swift 6.3, Linux) this is reported as a race:
//   swiftc -sanitize=thread Tests/Sanitizers/mutex_false_positive.swift -o /tmp/m && /tmp/m
// Not part of any target.
import Synchronization
import Foundation
final class Box: Sendable { let m = Mutex<[Int: Int]>([:]) }
let box = Box()
let group = DispatchGroup()
for t in 0..<2 {
    DispatchQueue.global().async(group: group) {
        for i in 0..<20000 { box.m.withLock { $0[i % 64 + t * 1000] = i } }
    }
}
group.wait()
print(box.m.withLock { $0.count })
