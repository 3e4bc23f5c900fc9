/// One validation run over a value: walks the value and the compiled nodes
/// together, keeping the path to the current value so that a pointer is
/// only built when an error is reported.
struct Validator {
    let nodes: [SchemaNode]
    let maxDepth: Int
    private(set) var errors: [FieldError] = []
    private let limit: Int
    /// The members stepped into from the root to the current value.
    var path: [PathStep] = []
    /// Above zero while only asking whether a value matches (`anyOf`, `not`,
    /// `if`, `contains`…): failures are counted, not described.
    private var probing = 0
    private var probeFailed = false

    /// How many `$ref`s may be followed in a row without stepping into a
    /// member. Cycles are refused when compiling; this is a backstop.
    static let maxReferenceHops = 64

    init(nodes: [SchemaNode], limit: Int, maxDepth: Int) {
        self.nodes = nodes
        self.limit = limit
        self.maxDepth = maxDepth
    }

    /// Whether to stop: the error list is full, or a probe already failed.
    var isDone: Bool { probing > 0 ? probeFailed : errors.count >= limit }

    /// Records a failure at the current value, or at its `member`. The
    /// message is only built when it will be kept.
    mutating func report(_ message: @autoclosure () -> String, member: PathStep? = nil) {
        if probing > 0 {
            probeFailed = true
            return
        }
        guard errors.count < limit else { return }
        var field = PathStep.pointer(path)
        if let member { field += PathStep.pointer([member]) }
        errors.append(FieldError(field: field, message: message()))
    }

    /// Validates `value` against node `index`. `hops` counts the `$ref`s
    /// followed since the last step into a member.
    mutating func validate(_ value: JSONValue, _ index: Int, hops: Int = 0) {
        guard !isDone else { return }
        // Read through the node rather than copying its keywords out: a copy
        // would retain every array in them, on every call.
        let node = nodes[index]
        if node.keywords.rejectsAll {
            report("not allowed")
            return
        }
        if let types = node.keywords.types, !types.contains(typeOf: value) {
            // The other keywords would mostly repeat the same complaint.
            report("expected \(Validator.list(node.keywords.typeNames, or: true)), found \(value.typeName)")
            return
        }
        if let values = node.keywords.enumValues, !values.contains(value) {
            let shown = values.prefix(10).map(\.description).joined(separator: ", ")
            report("must be one of: \(shown)\(values.count > 10 ? ", …" : "")")
        }
        if let constant = node.keywords.constValue, constant != value {
            report("must equal \(constant.description)")
        }
        switch value {
        case .object(let fields):
            if node.keywords.object != nil { validateObject(value, fields, node) }
        case .array(let items):
            if node.keywords.array != nil { validateArray(items, node) }
        case .integer, .number:
            if node.keywords.number != nil { validateNumber(value, node) }
        case .string(let string):
            if node.keywords.string != nil { validateString(string, node) }
        case .null, .bool:
            break
        }
        applyInPlace(value, node, hops: hops)
    }

    /// Whether `value` matches node `index`, without reporting anything.
    mutating func matches(_ value: JSONValue, _ index: Int, hops: Int = 0) -> Bool {
        let outerFailed = probeFailed
        probing += 1
        probeFailed = false
        validate(value, index, hops: hops)
        let matched = !probeFailed
        probing -= 1
        probeFailed = outerFailed
        return matched
    }

    /// Validates a member of the current value: the path grows by one step,
    /// and nesting beyond `maxDepth` is an error instead of more recursion.
    mutating func validate(member: PathStep, _ value: JSONValue, _ index: Int) {
        guard !isDone else { return }
        path.append(member)
        defer { path.removeLast() }
        switch value {
        case .array, .object:
            if path.count >= maxDepth {
                let message = "nested deeper than \(maxDepth) levels"
                report(message)
                return
            }
        default:
            break
        }
        validate(value, index)
    }

    /// The keywords that apply other schemas to the same value.
    private mutating func applyInPlace(_ value: JSONValue, _ node: SchemaNode, hops: Int) {
        if let ref = node.keywords.ref {
            if hops >= Validator.maxReferenceHops {
                report("more than \(Validator.maxReferenceHops) nested $ref at one value")
            } else {
                validate(value, ref, hops: hops + 1)
            }
        }
        for other in node.keywords.allOf {
            validate(value, other, hops: hops)
        }
        if let anyOf = node.keywords.anyOf {
            if anyOf.count == 1 {
                validate(value, anyOf[0], hops: hops) // one alternative: its own errors say more
            } else if !anyOf.contains(where: { matches(value, $0, hops: hops) }) {
                report("must match at least one of the \(anyOf.count) alternatives")
            }
        }
        if let oneOf = node.keywords.oneOf {
            if oneOf.count == 1 {
                validate(value, oneOf[0], hops: hops)
            } else {
                var matched = 0
                for other in oneOf where matches(value, other, hops: hops) { matched += 1 }
                if matched != 1 { report("must match exactly one of the \(oneOf.count) alternatives (matched \(matched))") }
            }
        }
        if let not = node.keywords.not, matches(value, not, hops: hops) {
            report("must not match the schema in 'not'")
        }
        if let conditional = node.keywords.conditional {
            if matches(value, conditional.condition, hops: hops) {
                if let then = conditional.then { validate(value, then, hops: hops) }
            } else if let otherwise = conditional.otherwise {
                validate(value, otherwise, hops: hops)
            }
        }
    }

    /// Validates a property name against `propertyNames`: its errors are
    /// reported at the property, prefixed with the name.
    mutating func validateName(_ name: String, _ index: Int) {
        if probing > 0 {
            if !matches(.string(name), index) { report("") }
            return
        }
        let outer = errors
        errors = []
        validate(.string(name), index)
        let found = errors
        errors = outer
        for error in found {
            report("invalid property name '\(name)': \(error.message)", member: .key(name))
        }
    }

    /// "a", "a or b", "a, b or c" (or "and").
    static func list(_ items: [String], or: Bool) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + (or ? " or " : " and ") + items.last!
    }

    /// "1 item", "3 items".
    static func count(_ count: Int, _ noun: String, _ plural: String? = nil) -> String {
        "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
    }
}
