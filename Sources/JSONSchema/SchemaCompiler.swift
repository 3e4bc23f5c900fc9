import Foundation

/// Turns a schema document into `SchemaNode`s, once: keywords are checked
/// and converted, regexes compiled and `$ref`s resolved to node indices, so
/// that validation never looks at the schema's JSON again.
struct SchemaCompiler {
    let document: JSONValue
    /// Filled in as schemas are compiled; a slot is reserved before a
    /// schema's subschemas are, so a `$ref` back to it finds its index.
    private(set) var nodes: [SchemaNode?] = []
    private var indexByPointer: [String: Int] = [:]

    init(document: JSONValue) {
        self.document = document
    }

    /// Compiles the whole document; the root is node 0.
    static func compile(_ document: JSONValue) throws(SchemaError) -> [SchemaNode] {
        var compiler = SchemaCompiler(document: document)
        _ = try compiler.schema(document, at: "")
        let nodes = compiler.nodes.map { $0! } // every reserved slot is filled before compile returns
        try checkReferenceCycles(nodes)
        return nodes
    }

    /// The node for the schema `value` found at `pointer`, compiling it the
    /// first time.
    mutating func schema(_ value: JSONValue, at pointer: String) throws(SchemaError) -> Int {
        if let index = indexByPointer[pointer] { return index }
        let index = nodes.count
        nodes.append(nil)
        indexByPointer[pointer] = index
        var keywords = Keywords()
        switch value {
        case .bool(let accepts):
            keywords.rejectsAll = !accepts
        case .object(let fields):
            keywords = try self.keywords(fields, at: pointer)
        default:
            throw SchemaError(pointer: pointer, message: "expected a schema (an object or a boolean)")
        }
        nodes[index] = SchemaNode(pointer: pointer, keywords: keywords)
        return index
    }

    /// The node a `$ref` names. Only references into this document are
    /// supported: `#`, `#/$defs/name`, `#/definitions/name` or any other
    /// JSON Pointer fragment (percent-encoded as URI fragments are).
    mutating func reference(_ value: JSONValue, at pointer: String) throws(SchemaError) -> Int {
        guard case .string(let ref) = value else { throw SchemaError(pointer: pointer, message: "expected a string") }
        guard ref.hasPrefix("#") else {
            throw SchemaError(pointer: pointer, message: "only references within this schema ('#...') are supported, not '\(ref)'")
        }
        guard let fragment = String(ref.dropFirst()).removingPercentEncoding,
              let tokens = JSONPointer.tokens(fragment)
        else {
            throw SchemaError(pointer: pointer, message: "cannot resolve '\(ref)': only JSON Pointer fragments ('#/...') are supported")
        }
        var target = document
        var canonical = ""
        for token in tokens {
            switch target {
            case .object(let fields) where fields[token] != nil:
                target = fields[token]!
            case .array(let items) where Int(token).map({ items.indices.contains($0) && String($0) == token }) == true:
                target = items[Int(token)!]
            default:
                throw SchemaError(pointer: pointer, message: "cannot resolve '\(ref)'")
            }
            canonical = JSONPointer.appending(canonical, token)
        }
        switch target {
        case .object, .bool: return try schema(target, at: canonical)
        default: throw SchemaError(pointer: pointer, message: "'\(ref)' is not a schema")
        }
    }

    /// Refuses a loop of `$ref`s (with `allOf`, `anyOf`, `not`, `if`…) that
    /// comes back to a schema without stepping into a property or an item:
    /// validating with it would recurse forever on any value. Recursion
    /// through `properties` or `items` is fine: the data is finite.
    static func checkReferenceCycles(_ nodes: [SchemaNode]) throws(SchemaError) {
        enum Mark { case unvisited, onPath, done }
        var marks = [Mark](repeating: .unvisited, count: nodes.count)
        // Depth-first, with an explicit stack: a long chain of references
        // must not exhaust the call stack either.
        for root in nodes.indices where marks[root] == .unvisited {
            var stack: [(node: Int, next: [Int], position: Int)] = [(root, nodes[root].keywords.inPlace, 0)]
            marks[root] = .onPath
            while !stack.isEmpty {
                let top = stack.count - 1
                let (node, next, position) = stack[top]
                guard position < next.count else {
                    marks[node] = .done
                    stack.removeLast()
                    continue
                }
                stack[top].position += 1
                let child = next[position]
                switch marks[child] {
                case .onPath:
                    let keywords = nodes[node].keywords
                    let at = keywords.ref == child ? nodes[node].pointer + "/$ref" : nodes[child].pointer
                    throw SchemaError(pointer: at, message: "reference cycle that never steps into a property or item (it would recurse forever)")
                case .unvisited:
                    marks[child] = .onPath
                    stack.append((child, nodes[child].keywords.inPlace, 0))
                case .done:
                    break
                }
            }
        }
    }
}
