/// Reading each keyword of a schema object, with a message naming the
/// keyword when its value is the wrong kind.
extension SchemaCompiler {
    /// Keywords that constrain values but are not implemented: refusing them
    /// beats ignoring them and accepting what the schema means to reject.
    static let unsupported: [String: String] = [
        "unevaluatedProperties": "unevaluatedProperties is not supported",
        "unevaluatedItems": "unevaluatedItems is not supported",
        "$dynamicRef": "$dynamicRef is not supported",
        "$recursiveRef": "$recursiveRef is not supported",
        "dependencies": "dependencies is not supported (use dependentRequired or dependentSchemas)",
        "additionalItems": "additionalItems is not supported (use prefixItems and items)",
    ]

    mutating func keywords(_ fields: [String: JSONValue], at pointer: String) throws(SchemaError) -> Keywords {
        var keywords = Keywords()
        // Sorted, so that of several mistakes the same one is reported each time.
        for name in fields.keys.sorted() {
            let value = fields[name]!
            let at = JSONPointer.appending(pointer, name)
            if let message = Self.unsupported[name] { throw SchemaError(pointer: at, message: message) }
            switch name {
            case "type": (keywords.types, keywords.typeNames) = try types(value, at: at)
            case "enum":
                guard case .array(let values) = value else { throw SchemaError(pointer: at, message: "expected an array") }
                keywords.enumValues = values
            case "const": keywords.constValue = value
            case "allOf": keywords.allOf = try schemaList(value, at: at)
            case "anyOf": keywords.anyOf = try schemaList(value, at: at)
            case "oneOf": keywords.oneOf = try schemaList(value, at: at)
            case "not": keywords.not = try schema(value, at: at)
            case "$ref": keywords.ref = try reference(value, at: at)
            case "if":
                var conditional = Conditional(condition: try schema(value, at: at))
                if let then = fields["then"] { conditional.then = try schema(then, at: JSONPointer.appending(pointer, "then")) }
                if let otherwise = fields["else"] { conditional.otherwise = try schema(otherwise, at: JSONPointer.appending(pointer, "else")) }
                keywords.conditional = conditional
            case "then", "else":
                // Without "if" they do nothing, but a malformed one is still a mistake.
                if fields["if"] == nil { _ = try schema(value, at: at) }
            case "$defs", "definitions": _ = try schemaMap(value, at: at)

            case "properties":
                let properties = try schemaMap(value, at: at)
                keywords.object[orNew: ObjectKeywords()].properties = properties
                keywords.object!.propertyNodes = Dictionary(properties.map { ($0.name, $0.node) }, uniquingKeysWith: { a, _ in a })
            case "patternProperties":
                let map = try schemaMap(value, at: at)
                var compiled: [(pattern: Pattern, node: Int)] = []
                for (source, node) in map {
                    compiled.append((try pattern(source, at: JSONPointer.appending(at, source)), node))
                }
                keywords.object[orNew: ObjectKeywords()].patternProperties = compiled
            case "additionalProperties": keywords.object[orNew: ObjectKeywords()].additionalProperties = try schema(value, at: at)
            case "propertyNames": keywords.object[orNew: ObjectKeywords()].propertyNames = try schema(value, at: at)
            case "required": keywords.object[orNew: ObjectKeywords()].required = try names(value, at: at)
            case "minProperties": keywords.object[orNew: ObjectKeywords()].minProperties = try count(value, at: at)
            case "maxProperties": keywords.object[orNew: ObjectKeywords()].maxProperties = try count(value, at: at)
            case "dependentRequired":
                guard case .object(let map) = value else {
                    throw SchemaError(pointer: at, message: "expected an object whose values are arrays of property names")
                }
                var dependencies: [(name: String, requires: [String])] = []
                for key in map.keys.sorted() {
                    dependencies.append((key, try names(map[key]!, at: JSONPointer.appending(at, key))))
                }
                keywords.object[orNew: ObjectKeywords()].dependentRequired = dependencies
            case "dependentSchemas": keywords.object[orNew: ObjectKeywords()].dependentSchemas = try schemaMap(value, at: at)

            case "items":
                if case .array = value {
                    throw SchemaError(pointer: at, message: "expected a schema (for a list of item schemas use prefixItems)")
                }
                keywords.array[orNew: ArrayKeywords()].items = try schema(value, at: at)
            case "prefixItems": keywords.array[orNew: ArrayKeywords()].prefixItems = try schemaList(value, at: at)
            case "contains": keywords.array[orNew: ArrayKeywords()].contains = try schema(value, at: at)
            case "minContains": keywords.array[orNew: ArrayKeywords()].minContains = try count(value, at: at)
            case "maxContains": keywords.array[orNew: ArrayKeywords()].maxContains = try count(value, at: at)
            case "minItems": keywords.array[orNew: ArrayKeywords()].minItems = try count(value, at: at)
            case "maxItems": keywords.array[orNew: ArrayKeywords()].maxItems = try count(value, at: at)
            case "uniqueItems":
                guard case .bool(let unique) = value else { throw SchemaError(pointer: at, message: "expected true or false") }
                keywords.array[orNew: ArrayKeywords()].uniqueItems = unique

            case "minimum": keywords.number[orNew: NumberKeywords()].minimum = try number(value, at: at)
            case "maximum": keywords.number[orNew: NumberKeywords()].maximum = try number(value, at: at)
            case "exclusiveMinimum": keywords.number[orNew: NumberKeywords()].exclusiveMinimum = try number(value, at: at)
            case "exclusiveMaximum": keywords.number[orNew: NumberKeywords()].exclusiveMaximum = try number(value, at: at)
            case "multipleOf":
                let divisor = try number(value, at: at)
                guard divisor.double > 0 else { throw SchemaError(pointer: at, message: "expected a number greater than 0") }
                keywords.number[orNew: NumberKeywords()].multipleOf = divisor

            case "minLength": keywords.string[orNew: StringKeywords()].minLength = try count(value, at: at)
            case "maxLength": keywords.string[orNew: StringKeywords()].maxLength = try count(value, at: at)
            case "pattern":
                guard case .string(let source) = value else { throw SchemaError(pointer: at, message: "expected a string") }
                keywords.string[orNew: StringKeywords()].pattern = try pattern(source, at: at)
            case "format":
                guard case .string(let name) = value else { throw SchemaError(pointer: at, message: "expected a string") }
                // Formats not checked here are annotations, as the spec allows.
                if let format = Format(rawValue: name) { keywords.string[orNew: StringKeywords()].format = format }

            default:
                break // annotations (title, description, default, examples, $id…) and unknown keywords
            }
        }
        return keywords
    }

    private func types(_ value: JSONValue, at pointer: String) throws(SchemaError) -> (TypeSet, [String]) {
        let names: [String]
        switch value {
        case .string(let name): names = [name]
        case .array(let items):
            var list: [String] = []
            for item in items {
                guard case .string(let name) = item else {
                    throw SchemaError(pointer: pointer, message: "expected a type name or an array of them")
                }
                list.append(name)
            }
            names = list
        default: throw SchemaError(pointer: pointer, message: "expected a type name or an array of them")
        }
        var set = TypeSet()
        for name in names {
            guard let type = TypeSet.byName[name] else {
                throw SchemaError(pointer: pointer, message: "unknown type '\(name)' (expected null, boolean, object, array, number, integer or string)")
            }
            set.insert(type)
        }
        return (set, names)
    }

    private mutating func schemaList(_ value: JSONValue, at pointer: String) throws(SchemaError) -> [Int] {
        guard case .array(let items) = value, !items.isEmpty else {
            throw SchemaError(pointer: pointer, message: "expected a non-empty array of schemas")
        }
        var nodes: [Int] = []
        for (index, item) in items.enumerated() {
            nodes.append(try schema(item, at: pointer + "/" + String(index)))
        }
        return nodes
    }

    /// An object of schemas (`properties`, `$defs`…), sorted by name.
    private mutating func schemaMap(_ value: JSONValue, at pointer: String) throws(SchemaError) -> [(name: String, node: Int)] {
        guard case .object(let map) = value else {
            throw SchemaError(pointer: pointer, message: "expected an object whose values are schemas")
        }
        var nodes: [(name: String, node: Int)] = []
        for name in map.keys.sorted() {
            nodes.append((name, try schema(map[name]!, at: JSONPointer.appending(pointer, name))))
        }
        return nodes
    }

    private func names(_ value: JSONValue, at pointer: String) throws(SchemaError) -> [String] {
        guard case .array(let items) = value else { throw SchemaError(pointer: pointer, message: "expected an array of property names") }
        var names: [String] = []
        for item in items {
            guard case .string(let name) = item else { throw SchemaError(pointer: pointer, message: "expected an array of property names") }
            names.append(name)
        }
        return names
    }

    /// A non-negative integer; `3.0` counts, as the spec says.
    private func count(_ value: JSONValue, at pointer: String) throws(SchemaError) -> Int {
        switch value {
        case .integer(let count) where count >= 0: return Int(clamping: count)
        case .number(let count) where count >= 0 && value.isInteger: return count >= Double(Int.max) ? Int.max : Int(count)
        default: throw SchemaError(pointer: pointer, message: "expected a non-negative integer")
        }
    }

    private func number(_ value: JSONValue, at pointer: String) throws(SchemaError) -> Bound {
        guard value.doubleValue != nil else { throw SchemaError(pointer: pointer, message: "expected a number") }
        return Bound(value)
    }

    private func pattern(_ source: String, at pointer: String) throws(SchemaError) -> Pattern {
        guard let pattern = Pattern(source) else {
            throw SchemaError(pointer: pointer, message: "invalid regular expression '\(source)'")
        }
        return pattern
    }
}

extension Optional {
    /// The wrapped value, or `empty` until something is stored: lets a
    /// keyword group be created on first use (`keywords.object[orNew: …].required = …`).
    fileprivate subscript(orNew empty: Wrapped) -> Wrapped {
        get { self ?? empty }
        set { self = newValue }
    }
}
