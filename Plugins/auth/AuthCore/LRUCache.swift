/// A least-recently-used map with a fixed capacity: when full, inserting
/// drops the entry unused for longest. Not thread-safe; callers hold a lock.
///
/// Entries live in one array linked by index, so lookups, inserts and
/// evictions are O(1) and the memory in use never grows past the capacity.
struct LRUCache<Key: Hashable, Value> {
    private struct Node {
        var key: Key
        var value: Value
        var newer: Int
        var older: Int
    }

    let capacity: Int
    private var nodes: [Node] = []
    private var index: [Key: Int] = [:]
    /// Most recently used, or -1 when empty.
    private var newest = -1
    /// Least recently used, or -1 when empty.
    private var oldest = -1

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    var count: Int { index.count }

    /// The value for `key`, which becomes the most recently used.
    mutating func value(for key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return nodes[slot].value
    }

    /// Whether `key` is present, without counting as a use.
    func contains(_ key: Key) -> Bool {
        index[key] != nil
    }

    mutating func insert(_ value: Value, for key: Key) {
        guard capacity > 0 else { return }
        if let slot = index[key] {
            nodes[slot].value = value
            moveToFront(slot)
            return
        }
        let slot: Int
        if nodes.count < capacity {
            slot = nodes.count
            nodes.append(Node(key: key, value: value, newer: -1, older: -1))
        } else {
            // Reuse the oldest slot for the new entry.
            slot = oldest
            unlink(slot)
            index[nodes[slot].key] = nil
            nodes[slot] = Node(key: key, value: value, newer: -1, older: -1)
        }
        index[key] = slot
        linkAtFront(slot)
    }

    mutating func removeValue(for key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        // Keep the array dense: move the last node into the freed slot.
        let last = nodes.count - 1
        if slot != last {
            nodes[slot] = nodes[last]
            index[nodes[slot].key] = slot
            if nodes[slot].newer >= 0 { nodes[nodes[slot].newer].older = slot } else { newest = slot }
            if nodes[slot].older >= 0 { nodes[nodes[slot].older].newer = slot } else { oldest = slot }
        }
        nodes.removeLast()
    }

    mutating func removeAll() {
        nodes.removeAll()
        index.removeAll()
        newest = -1
        oldest = -1
    }

    private mutating func moveToFront(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (nodes[slot].newer, nodes[slot].older)
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }

    private mutating func linkAtFront(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
