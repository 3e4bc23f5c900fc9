/// The keywords for each kind of value: objects, arrays, numbers, strings.
extension Validator {
    mutating func validateObject(_ value: JSONValue, _ fields: [String: JSONValue], _ node: SchemaNode) {
        let rules = node.keywords.object!
        // A missing property is reported where it should be, so that clients
        // can attach the message to the field.
        for name in rules.required where fields[name] == nil {
            report("missing required property '\(name)'", member: .key(name))
        }
        for (name, requires) in rules.dependentRequired where fields[name] != nil {
            for other in requires where fields[other] == nil {
                report("missing property '\(other)' (required when '\(name)' is present)", member: .key(other))
            }
        }
        if let min = rules.minProperties, fields.count < min {
            report("must have at least \(Validator.count(min, "property", "properties"))")
        }
        if let max = rules.maxProperties, fields.count > max {
            report("must have at most \(Validator.count(max, "property", "properties"))")
        }
        for (name, node) in rules.properties {
            if let member = fields[name] { validate(member: .key(name), member, node) }
        }
        if rules.visitsAllMembers {
            // Sorted, so that errors come in the same order on every run.
            for name in fields.keys.sorted() {
                guard !isDone else { return }
                let member = fields[name]!
                var described = rules.propertyNodes[name] != nil
                for (pattern, node) in rules.patternProperties where pattern.matches(name) {
                    described = true
                    validate(member: .key(name), member, node)
                }
                if !described, let additional = rules.additionalProperties {
                    if nodes[additional].keywords.rejectsAll {
                        report("additional property '\(name)' is not allowed", member: .key(name))
                    } else {
                        validate(member: .key(name), member, additional)
                    }
                }
                if let names = rules.propertyNames { validateName(name, names) }
            }
        }
        for (name, node) in rules.dependentSchemas where fields[name] != nil {
            validate(value, node)
        }
    }

    mutating func validateArray(_ items: [JSONValue], _ node: SchemaNode) {
        let rules = node.keywords.array!
        if let min = rules.minItems, items.count < min {
            report("must have at least \(Validator.count(min, "item"))")
        }
        if let max = rules.maxItems, items.count > max {
            report("must have at most \(Validator.count(max, "item"))")
        }
        for (index, item) in items.enumerated() {
            guard !isDone else { return }
            if index < rules.prefixItems.count {
                validate(member: .index(index), item, rules.prefixItems[index])
            } else if let rest = rules.items {
                if nodes[rest].keywords.rejectsAll {
                    // One error for the whole tail rather than one per item.
                    report("must have at most \(Validator.count(rules.prefixItems.count, "item"))")
                    break
                }
                validate(member: .index(index), item, rest)
            } else {
                break
            }
        }
        if let contains = rules.contains {
            var matched = 0
            for (index, item) in items.enumerated() {
                path.append(.index(index))
                if matches(item, contains) { matched += 1 }
                path.removeLast()
                if matched >= rules.minContains, rules.maxContains == nil { break } // enough
            }
            if matched < rules.minContains {
                report("must contain at least \(Validator.count(rules.minContains, "matching item"))")
            }
            if let max = rules.maxContains, matched > max {
                report("must contain at most \(Validator.count(max, "matching item"))")
            }
        }
        if rules.uniqueItems, items.count > 1 {
            var firstIndex: [JSONValue: Int] = [:]
            for (index, item) in items.enumerated() {
                if let first = firstIndex[item] {
                    report("duplicate of item \(first)", member: .index(index))
                } else {
                    firstIndex[item] = index
                }
            }
        }
    }

    mutating func validateNumber(_ value: JSONValue, _ node: SchemaNode) {
        let rules = node.keywords.number!
        if let bound = rules.minimum, Validator.compare(value, bound) < 0 { report("must be ≥ \(bound.text)") }
        if let bound = rules.maximum, Validator.compare(value, bound) > 0 { report("must be ≤ \(bound.text)") }
        if let bound = rules.exclusiveMinimum, Validator.compare(value, bound) <= 0 { report("must be > \(bound.text)") }
        if let bound = rules.exclusiveMaximum, Validator.compare(value, bound) >= 0 { report("must be < \(bound.text)") }
        if let divisor = rules.multipleOf, !Validator.isMultiple(value, of: divisor) {
            report("must be a multiple of \(divisor.text)")
        }
    }

    mutating func validateString(_ string: String, _ node: SchemaNode) {
        let rules = node.keywords.string!
        if rules.minLength != nil || rules.maxLength != nil {
            // Lengths are in code points, as the spec says: "é" as one
            // scalar is 1, an emoji is 1, a flag (two scalars) is 2.
            let length = string.unicodeScalars.count
            if let min = rules.minLength, length < min { report("must be at least \(Validator.count(min, "character"))") }
            if let max = rules.maxLength, length > max { report("must be at most \(Validator.count(max, "character"))") }
        }
        if let pattern = rules.pattern, !pattern.matches(string) { report("must match pattern '\(pattern.source)'") }
        if let format = rules.format, !format.accepts(string) { report(format.message) }
    }

    /// -1, 0 or 1. Exact for two integers; otherwise through doubles.
    static func compare(_ value: JSONValue, _ bound: Bound) -> Int {
        if case .integer(let a) = value, case .integer(let b) = bound.value { return a < b ? -1 : a == b ? 0 : 1 }
        let a = value.doubleValue ?? .nan
        return a < bound.double ? -1 : a == bound.double ? 0 : 1
    }

    /// Exact for whole numbers; for fractions, within rounding error, so
    /// that 0.3 counts as a multiple of 0.1.
    static func isMultiple(_ value: JSONValue, of divisor: Bound) -> Bool {
        if case .integer(let a) = value, case .integer(let b) = divisor.value { return a % b == 0 }
        let dividend = value.doubleValue ?? .nan
        // The remainder of two doubles is exact; a quotient beyond 2^53
        // would always look whole (1e20 / 3).
        if value.isInteger, divisor.value.isInteger { return dividend.truncatingRemainder(dividingBy: divisor.double) == 0 }
        let quotient = dividend / divisor.double
        guard quotient.isFinite else { return false }
        return abs(quotient - quotient.rounded()) <= 1e-12 * max(1, abs(quotient))
    }
}
