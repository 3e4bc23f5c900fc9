// Checks JSONSchema: parsed JSON prints as JSON that parses to an equal value, and a compiled schema validates consistently (isValid agrees with validate, errors bounded, same answer twice).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let schemaBytes = input.field()
    let instanceBytes = input.field()

    let document = try? JSONValue.parse(schemaBytes)
    if let document { checkRoundTrip(document) }
    guard let schema = try? Schema(json: schemaBytes) else { return 0 }

    for bytes in [instanceBytes, schemaBytes] {
        let errors = schema.validate(json: bytes)
        require(errors.count <= Schema.maxErrors, "\(errors.count) errors")
        require(errors == schema.validate(json: bytes), "two validations disagree")
        for error in errors {
            require(error.field.isEmpty || error.field.hasPrefix("/"), "field '\(error.field)' is not a JSON Pointer")
        }
        if let value = try? JSONValue.parse(bytes, maxDepth: Schema.maxDepth) {
            checkRoundTrip(value)
            require(schema.isValid(value) == errors.isEmpty, "isValid says \(schema.isValid(value)), validate found \(errors)")
        }
    }
    return 0
}

private func checkRoundTrip(_ value: JSONValue) {
    let text = value.description
    guard let again = try? JSONValue.parse(text) else { fail("prints as \(text.debugDescription), which does not parse") }
    require(again == value, "prints as \(text.debugDescription), which parses to \(again)")
}
