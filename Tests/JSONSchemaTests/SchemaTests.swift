import Foundation
import JSONSchema
import XCTest

/// Each keyword with a value that passes and one that fails, with the exact
/// field pointers and messages; schemas that are refused; hostile input.
final class SchemaTests: XCTestCase {
    // MARK: - Helpers

    private func schema(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Schema? {
        do {
            return try Schema(text: text)
        } catch {
            XCTFail("schema refused: \(error)", file: file, line: line)
            return nil
        }
    }

    /// The errors for `instance` as "field: message" lines.
    private func errors(_ schemaText: String, _ instance: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        guard let schema = schema(schemaText, file: file, line: line) else { return ["(no schema)"] }
        return schema.validate(json: Array(instance.utf8)).map(\.description)
    }

    private func assertValid(_ schemaText: String, _ instances: String..., file: StaticString = #filePath, line: UInt = #line) {
        for instance in instances {
            XCTAssertEqual(errors(schemaText, instance, file: file, line: line), [], instance, file: file, line: line)
        }
    }

    private func assertInvalid(_ schemaText: String, _ instance: String, _ expected: String...,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(errors(schemaText, instance, file: file, line: line), expected, instance, file: file, line: line)
    }

    private func assertRefused(_ schemaText: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try Schema(text: schemaText)
            XCTFail("accepted \(schemaText)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.description, expected, file: file, line: line)
        }
    }

    // MARK: - Types and values

    func testType() {
        assertValid(#"{"type": "string"}"#, #""x""#)
        assertInvalid(#"{"type": "string"}"#, "3", "expected string, found number")
        assertValid(#"{"type": "integer"}"#, "3", "3.0", "-0", "12345678901234567890")
        assertInvalid(#"{"type": "integer"}"#, "3.5", "expected integer, found number")
        assertInvalid(#"{"type": "integer"}"#, #""3""#, "expected integer, found string")
        assertValid(#"{"type": "number"}"#, "3", "3.5")
        assertInvalid(#"{"type": "boolean"}"#, "0", "expected boolean, found number")
        assertInvalid(#"{"type": "null"}"#, "false", "expected null, found boolean")
        assertInvalid(#"{"type": "object"}"#, "[]", "expected object, found array")
        assertInvalid(#"{"type": "array"}"#, "{}", "expected array, found object")
        assertValid(#"{"type": ["string", "null"]}"#, "null", #""x""#)
        assertInvalid(#"{"type": ["string", "null"]}"#, "1", "expected string or null, found number")
        assertInvalid(#"{"type": ["string", "integer", "null"]}"#, "[1]", "expected string, integer or null, found array")
    }

    func testEnumAndConst() {
        assertValid(#"{"enum": ["a", "b", 1, null, {"k": [1]}]}"#, #""a""#, "1.0", "null", #"{"k": [1.0]}"#)
        assertInvalid(#"{"enum": ["a", "b"]}"#, #""c""#, #"must be one of: "a", "b""#)
        assertInvalid(#"{"enum": [1, true]}"#, "false", "must be one of: 1, true")
        assertInvalid(#"{"enum": [0,1,2,3,4,5,6,7,8,9,10,11]}"#, "12", "must be one of: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …")
        assertValid(#"{"const": {"a": 1, "b": [true]}}"#, #"{"b": [true], "a": 1.0}"#)
        assertInvalid(#"{"const": {"a": 1}}"#, #"{"a": 2}"#, #"must equal {"a":1}"#)
        assertInvalid(#"{"const": 0}"#, "false", "must equal 0")
    }

    // MARK: - Objects

    func testPropertiesAndRequired() {
        let schema = #"""
            {"type": "object", "required": ["name", "age"],
             "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                            "address": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}}}
            """#
        assertValid(schema, #"{"name": "Ada", "age": 36, "extra": true}"#)
        assertInvalid(schema, #"{"age": "x"}"#, "/name: missing required property 'name'", "/age: expected integer, found string")
        assertInvalid(schema, #"{"name": "Ada", "age": 1, "address": {}}"#, "/address/city: missing required property 'city'")
        assertInvalid(schema, #"{"name": "Ada", "age": 1, "address": {"city": 7}}"#, "/address/city: expected string, found number")
    }

    func testAdditionalProperties() {
        let closed = #"{"properties": {"a": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": false}"#
        assertValid(closed, #"{"a": 1, "x-b": 2}"#)
        assertInvalid(closed, #"{"a": 1, "b": 2, "c/d": 3}"#,
                      "/b: additional property 'b' is not allowed", "/c~1d: additional property 'c/d' is not allowed")
        let typed = #"{"properties": {"a": {}}, "additionalProperties": {"type": "integer"}}"#
        assertValid(typed, #"{"a": "x", "b": 2}"#)
        assertInvalid(typed, #"{"a": "x", "b": "y"}"#, "/b: expected integer, found string")
    }

    func testPatternProperties() {
        let schema = #"{"patternProperties": {"^n_": {"type": "number"}, "_s$": {"type": "string"}}}"#
        assertValid(schema, #"{"n_a": 1, "b_s": "x", "other": null}"#)
        assertInvalid(schema, #"{"n_a": "1", "n_s": 2}"#,
                      "/n_a: expected number, found string", "/n_s: expected string, found number")
    }

    func testPropertyNames() {
        let schema = #"{"propertyNames": {"pattern": "^[a-z]+$", "maxLength": 5}}"#
        assertValid(schema, #"{"abc": 1}"#, "{}", "[]")
        assertInvalid(schema, #"{"abc": 1, "Abc": 2, "abcdefg": 3}"#,
                      "/Abc: invalid property name 'Abc': must match pattern '^[a-z]+$'",
                      "/abcdefg: invalid property name 'abcdefg': must be at most 5 characters")
    }

    func testPropertyCounts() {
        assertValid(#"{"minProperties": 1, "maxProperties": 2}"#, #"{"a": 1}"#, #"{"a": 1, "b": 2}"#, "3")
        assertInvalid(#"{"minProperties": 1}"#, "{}", "must have at least 1 property")
        assertInvalid(#"{"maxProperties": 2}"#, #"{"a": 1, "b": 2, "c": 3}"#, "must have at most 2 properties")
    }

    func testDependentRequiredAndSchemas() {
        let schema = #"{"dependentRequired": {"card": ["billing"]}, "dependentSchemas": {"card": {"required": ["cvv"]}}}"#
        assertValid(schema, "{}", #"{"card": 1, "billing": 2, "cvv": 3}"#)
        assertInvalid(schema, #"{"card": 1}"#,
                      "/billing: missing property 'billing' (required when 'card' is present)",
                      "/cvv: missing required property 'cvv'")
    }

    // MARK: - Arrays

    func testItemsAndPrefixItems() {
        assertValid(#"{"items": {"type": "string"}}"#, "[]", #"["a", "b"]"#)
        assertInvalid(#"{"items": {"type": "string"}}"#, #"["a", 2, "c", null]"#,
                      "/1: expected string, found number", "/3: expected string, found null")
        let tuple = #"{"prefixItems": [{"type": "number"}, {"type": "string"}], "items": false}"#
        assertValid(tuple, #"[1, "a"]"#, "[1]")
        assertInvalid(tuple, #"["a", 1]"#, "/0: expected number, found string", "/1: expected string, found number")
        assertInvalid(tuple, #"[1, "a", true, false]"#, "must have at most 2 items")
        assertValid(#"{"prefixItems": [{"type": "number"}]}"#, #"[1, "anything"]"#)
        assertInvalid(#"{"prefixItems": [{"type": "number"}], "items": {"type": "boolean"}}"#, #"[1, true, 3]"#,
                      "/2: expected boolean, found number")
    }

    func testItemCounts() {
        assertValid(#"{"minItems": 1, "maxItems": 2}"#, "[1]", "[1, 2]")
        assertInvalid(#"{"minItems": 1}"#, "[]", "must have at least 1 item")
        assertInvalid(#"{"maxItems": 2}"#, "[1, 2, 3]", "must have at most 2 items")
    }

    func testUniqueItems() {
        assertValid(#"{"uniqueItems": true}"#, #"[1, "1", [1], {"a": 1}, {"a": 2}]"#)
        assertInvalid(#"{"uniqueItems": true}"#, #"[1, 2, 1.0, {"a": 1, "b": 2}, {"b": 2, "a": 1}]"#,
                      "/2: duplicate of item 0", "/4: duplicate of item 3")
        assertValid(#"{"uniqueItems": false}"#, "[1, 1]")
    }

    func testContains() {
        assertValid(#"{"contains": {"type": "string"}}"#, #"[1, "a"]"#)
        assertInvalid(#"{"contains": {"type": "string"}}"#, "[1, 2]", "must contain at least 1 matching item")
        let counted = #"{"contains": {"type": "string"}, "minContains": 2, "maxContains": 3}"#
        assertValid(counted, #"["a", "b", 1]"#)
        assertInvalid(counted, #"["a", 1]"#, "must contain at least 2 matching items")
        assertInvalid(counted, #"["a", "b", "c", "d"]"#, "must contain at most 3 matching items")
        assertValid(#"{"contains": {"type": "string"}, "minContains": 0}"#, "[1]")
    }

    // MARK: - Numbers

    func testNumericBounds() {
        assertValid(#"{"minimum": 0, "maximum": 10}"#, "0", "10", "5.5", #""not a number""#)
        assertInvalid(#"{"minimum": 0}"#, "-1", "must be ≥ 0")
        assertInvalid(#"{"maximum": 10}"#, "10.5", "must be ≤ 10")
        assertInvalid(#"{"exclusiveMinimum": 0}"#, "0", "must be > 0")
        assertInvalid(#"{"exclusiveMaximum": 2.5}"#, "2.5", "must be < 2.5")
        assertValid(#"{"exclusiveMinimum": 0, "exclusiveMaximum": 1}"#, "0.5")
        // Large integers compare exactly, not through doubles.
        assertInvalid(#"{"maximum": 9007199254740992}"#, "9007199254740993", "must be ≤ 9007199254740992")
    }

    func testMultipleOf() {
        assertValid(#"{"multipleOf": 3}"#, "9", "-3", "0", "9.0")
        assertInvalid(#"{"multipleOf": 3}"#, "10", "must be a multiple of 3")
        assertValid(#"{"multipleOf": 0.1}"#, "0.3", "1.7", "4")
        assertInvalid(#"{"multipleOf": 0.1}"#, "0.35", "must be a multiple of 0.1")
        assertValid(#"{"multipleOf": 0.0001}"#, "0.0075")
        assertInvalid(#"{"type": "integer", "multipleOf": 0.123456789}"#, "1e308", "must be a multiple of 0.123456789")
    }

    // MARK: - Strings

    func testLengths() {
        assertValid(#"{"minLength": 3, "maxLength": 4}"#, #""abc""#, #""abcd""#, "12")
        assertInvalid(#"{"minLength": 3}"#, #""ab""#, "must be at least 3 characters")
        assertInvalid(#"{"maxLength": 1}"#, #""ab""#, "must be at most 1 character")
        // Code points: an emoji is one, "e" + combining accent is two.
        assertValid(#"{"maxLength": 1}"#, #""😀""#, #""\u00e9""#)
        assertInvalid(#"{"maxLength": 1}"#, #""e\u0301""#, "must be at most 1 character")
    }

    func testPattern() {
        assertValid(#"{"pattern": "[0-9]{3}"}"#, #""ab123cd""#, "123")
        assertInvalid(#"{"pattern": "^[a-z]+$"}"#, #""abc1""#, "must match pattern '^[a-z]+$'")
    }

    func testFormats() {
        let cases: [(format: String, valid: [String], invalid: [String], message: String)] = [
            ("date-time", ["2024-01-31T12:00:00Z", "2024-02-29t23:59:59.123+05:30", "1998-12-31T23:59:60Z"],
             ["2024-01-31", "2024-01-31 12:00:00Z", "2023-02-29T00:00:00Z", "2024-01-31T24:00:00Z", "2024-01-31T12:00:00", "2024-01-31T22:59:60Z"],
             "must be an RFC 3339 date-time, like 2024-01-31T12:00:00Z"),
            ("date", ["2024-01-31", "2000-02-29"], ["2024-1-31", "2024-13-01", "1900-02-29", "2024-01-31T00:00:00Z"],
             "must be a date, like 2024-01-31"),
            ("time", ["12:00:00Z", "08:30:06.283185-01:00"], ["12:00:00", "12:00Z", "25:00:00Z"], "must be an RFC 3339 time, like 12:00:00Z"),
            ("email", ["ada@example.com", "a.b+c@d"], ["ada", "@example.com", "ada@", "a@b@c", "ad a@example.com"], "must be an email address"),
            ("uuid", ["2EB8AA08-AA98-11EA-B4AA-73B441D16380", "2eb8aa08-aa98-11ea-b4aa-73b441d16380"],
             ["2eb8aa08aa9811eab4aa73b441d16380", "2eb8aa08-aa98-11ea-b4aa-73b441d1638g"], "must be a uuid"),
            ("uri", ["https://example.com/a?b=c", "mailto:ada@example.com", "urn:isbn:0451450523"],
             ["/relative/path", "example.com", "http://exa mple.com", "1http://x"], "must be an absolute uri, with a scheme"),
            ("ipv4", ["192.168.0.1", "0.0.0.0", "255.255.255.255"], ["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "a.b.c.d"],
             "must be an ipv4 address"),
        ]
        for (format, valid, invalid, message) in cases {
            let schema = #"{"format": "\#(format)"}"#
            for value in valid { assertValid(schema, #""\#(value)""#) }
            for value in invalid { assertInvalid(schema, #""\#(value)""#, message) }
            assertValid(schema, "42") // formats only apply to strings
        }
        assertValid(#"{"format": "hostname"}"#, #""not checked""#)
    }

    // MARK: - Combinations

    func testAllOfReportsEachFailure() {
        let schema = #"{"allOf": [{"type": "string"}, {"minLength": 3}, {"pattern": "^a"}]}"#
        assertValid(schema, #""abc""#)
        assertInvalid(schema, #""b""#, "must be at least 3 characters", "must match pattern '^a'")
    }

    func testAnyOf() {
        let schema = #"{"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]}"#
        assertValid(schema, #""x""#, "3")
        assertInvalid(schema, "-1", "must match at least one of the 2 alternatives")
        // One alternative: its own errors are more useful.
        assertInvalid(#"{"anyOf": [{"minimum": 5}]}"#, "1", "must be ≥ 5")
    }

    func testOneOf() {
        let schema = #"{"oneOf": [{"type": "integer"}, {"minimum": 2}]}"#
        assertValid(schema, "1", "2.5")
        assertInvalid(schema, "3", "must match exactly one of the 2 alternatives (matched 2)")
        assertInvalid(schema, "1.5", "must match exactly one of the 2 alternatives (matched 0)")
    }

    func testNot() {
        assertValid(#"{"not": {"type": "null"}}"#, "1")
        assertInvalid(#"{"not": {"type": "null"}}"#, "null", "must not match the schema in 'not'")
    }

    func testIfThenElse() {
        let schema = #"""
            {"if": {"properties": {"kind": {"const": "card"}}, "required": ["kind"]},
             "then": {"required": ["number"]}, "else": {"required": ["iban"]}}
            """#
        assertValid(schema, #"{"kind": "card", "number": "4111"}"#, #"{"kind": "bank", "iban": "DE00"}"#)
        assertInvalid(schema, #"{"kind": "card"}"#, "/number: missing required property 'number'")
        assertInvalid(schema, #"{"kind": "bank"}"#, "/iban: missing required property 'iban'")
        assertValid(#"{"then": {"type": "string"}}"#, "1") // then without if does nothing
    }

    func testBooleanSchemas() {
        assertValid("true", "1", "null", "{}")
        assertInvalid("false", "1", "not allowed")
        assertInvalid(#"{"properties": {"secret": false}}"#, #"{"secret": 1}"#, "/secret: not allowed")
    }

    // MARK: - References

    func testReferencesToDefsAndDefinitions() {
        let schema = #"""
            {"$defs": {"id": {"type": "integer", "minimum": 1}},
             "definitions": {"a/b": {"type": "string"}, "c~d": {"type": "boolean"}, "e f": {"type": "null"}},
             "properties": {"id": {"$ref": "#/$defs/id"}, "slash": {"$ref": "#/definitions/a~1b"},
                            "tilde": {"$ref": "#/definitions/c~0d"}, "space": {"$ref": "#/definitions/e%20f"}}}
            """#
        assertValid(schema, #"{"id": 3, "slash": "x", "tilde": true, "space": null}"#)
        assertInvalid(schema, #"{"id": 0, "slash": 1, "tilde": 1, "space": 1}"#,
                      "/id: must be ≥ 1", "/slash: expected string, found number",
                      "/space: expected null, found number", "/tilde: expected boolean, found number")
    }

    func testRecursiveReference() {
        let tree = #"""
            {"type": "object", "required": ["name"],
             "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}}
            """#
        assertValid(tree, #"{"name": "root", "children": [{"name": "a", "children": [{"name": "b"}]}]}"#)
        assertInvalid(tree, #"{"name": "root", "children": [{"name": "a", "children": [{"name": 2}, {}]}]}"#,
                      "/children/0/children/0/name: expected string, found number",
                      "/children/0/children/1/name: missing required property 'name'")
        let linkedList = ##"{"$defs": {"node": {"type": ["object", "null"], "properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"}"##
        assertValid(linkedList, #"{"next": {"next": {"next": null}}}"#)
        assertInvalid(linkedList, #"{"next": {"next": 3}}"#, "/next/next: expected object or null, found number")
    }

    // MARK: - Schemas that are refused

    func testRefusedSchemas() {
        assertRefused(#"{"type": "#, "schema: not valid JSON: unexpected end of input at offset 9")
        assertRefused("3", "schema: expected a schema (an object or a boolean)")
        assertRefused(#"{"properties": {"age": {"type": 3}}}"#, "schema /properties/age/type: expected a type name or an array of them")
        assertRefused(#"{"type": "strin"}"#,
                      "schema /type: unknown type 'strin' (expected null, boolean, object, array, number, integer or string)")
        assertRefused(#"{"type": ["string", 1]}"#, "schema /type: expected a type name or an array of them")
        assertRefused(#"{"required": "x"}"#, "schema /required: expected an array of property names")
        assertRefused(#"{"pattern": "[a-"}"#, "schema /pattern: invalid regular expression '[a-'")
        assertRefused(#"{"patternProperties": {"(": {}}}"#, "schema /patternProperties/(: invalid regular expression '('")
        assertRefused(##"{"properties": {"a": {"$ref": "#/$defs/missing"}}}"##, "schema /properties/a/$ref: cannot resolve '#/$defs/missing'")
        assertRefused(#"{"$ref": "other.json#/a"}"#,
                      "schema /$ref: only references within this schema ('#...') are supported, not 'other.json#/a'")
        assertRefused(##"{"$ref": "#anchor"}"##,
                      "schema /$ref: cannot resolve '#anchor': only JSON Pointer fragments ('#/...') are supported")
        assertRefused(#"{"$defs": {"n": 3}}"#, "schema /$defs/n: expected a schema (an object or a boolean)")
        assertRefused(#"{"minLength": -1}"#, "schema /minLength: expected a non-negative integer")
        assertRefused(#"{"maxItems": 1.5}"#, "schema /maxItems: expected a non-negative integer")
        assertRefused(#"{"minimum": "0"}"#, "schema /minimum: expected a number")
        assertRefused(#"{"exclusiveMinimum": true}"#, "schema /exclusiveMinimum: expected a number")
        assertRefused(#"{"multipleOf": 0}"#, "schema /multipleOf: expected a number greater than 0")
        assertRefused(#"{"enum": "a"}"#, "schema /enum: expected an array")
        assertRefused(#"{"anyOf": []}"#, "schema /anyOf: expected a non-empty array of schemas")
        assertRefused(#"{"items": [{}]}"#, "schema /items: expected a schema (for a list of item schemas use prefixItems)")
        assertRefused(#"{"properties": []}"#, "schema /properties: expected an object whose values are schemas")
        assertRefused(#"{"uniqueItems": 1}"#, "schema /uniqueItems: expected true or false")
        assertRefused(#"{"format": 1}"#, "schema /format: expected a string")
        assertRefused(#"{"unevaluatedProperties": false}"#, "schema /unevaluatedProperties: unevaluatedProperties is not supported")
    }

    func testReferenceCyclesAreRefused() {
        let message = "reference cycle that never steps into a property or item (it would recurse forever)"
        assertRefused(##"{"$ref": "#"}"##, "schema /$ref: \(message)")
        assertRefused(##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}}}"##,
                      "schema /$defs/b/anyOf/1/$ref: \(message)")
    }

    func testAnnotationsAndUnknownKeywordsAreIgnored() {
        let schema = #"""
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/s", "title": "T",
             "description": "D", "default": 1, "examples": [1], "deprecated": true, "x-vendor": {"type": 3}, "type": "integer"}
            """#
        assertValid(schema, "1")
    }

    // MARK: - Hostile input and limits

    func testNotJSON() {
        assertInvalid("true", #"{"a": }"#, "not valid JSON: unexpected '}' at offset 6")
        assertInvalid("true", "", "not valid JSON: unexpected end of input at offset 0")
    }

    func testDeepBodiesAreAnErrorNotACrash() {
        let hostile = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        assertInvalid(##"{"items": {"$ref": "#"}}"##, hostile, "not valid JSON: nested deeper than 256 levels at offset 256")
        let deepest = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        assertValid(##"{"items": {"$ref": "#"}}"##, deepest)
    }

    func testDeepValuesAreAnErrorNotACrash() throws {
        var value: JSONValue = []
        for _ in 0..<300 { value = [value] }
        let schema = try Schema(text: ##"{"items": {"$ref": "#"}}"##)
        let errors = schema.validate(value)
        XCTAssertEqual(errors, [FieldError(field: String(repeating: "/0", count: 256), message: "nested deeper than 256 levels")])
    }

    func testErrorsAreCapped() throws {
        let schema = try Schema(text: #"{"items": {"type": "string"}}"#)
        let errors = schema.validate(JSONValue.array(Array(repeating: 1, count: 500)))
        XCTAssertEqual(errors.count, Schema.maxErrors)
        XCTAssertEqual(errors.last, FieldError(field: "/99", message: "expected string, found number"))
        XCTAssertFalse(schema.isValid([1]))
        XCTAssertTrue(schema.isValid(["a"]))
    }

    func testSchemaFromValueAndFromSeveralThreads() throws {
        let schema = try Schema(["type": "object", "properties": ["n": ["type": "integer", "maximum": 10]]])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let errors = schema.validate(["n": JSONValue.integer(Int64(index * 3))])
            XCTAssertEqual(errors.isEmpty, index * 3 <= 10)
        }
    }
}
