import Foundation
import XCTest
@testable import KernelSDK

/// `RequestSchema.derive`: what it says about ordinary request types, and
/// that types it cannot describe give nil instead of a trap.
final class SchemaDerivationTests: XCTestCase {
    struct Address: Decodable {
        var city: String
        var zip: String?
    }

    enum Role: String, Decodable, CaseIterable { case admin, user }
    enum Priority: Int, Decodable, CaseIterable { case low = 1, high = 5 }
    /// Not CaseIterable: its cases cannot be listed.
    enum Mood: String, Decodable { case happy, sad }

    struct CreateUser: Decodable {
        var name: String
        var age: Int?
        var active: Bool
        var score: Double
        var tags: [String]
        var address: Address
        var previous: [Address]?
        var labels: [String: Int]
        var role: Role
        var priority: Priority
        var mood: Mood
        var born: Date
        var id: UUID
        var homepage: URL?
        var small: UInt8
    }

    func testStructWithNestedOptionalArrayDictionaryEnumAndDateFields() {
        let expected = #"{"properties":{"#
            + #""active":{"type":"boolean"},"#
            + #""address":{"properties":{"city":{"type":"string"},"zip":{"type":["string","null"]}},"required":["city"],"type":"object"},"#
            + #""age":{"type":["integer","null"]},"#
            + #""born":{"type":"number"},"#
            + #""homepage":{"type":["string","null"]},"#
            + #""id":{"format":"uuid","type":"string"},"#
            + #""labels":{"additionalProperties":{"type":"integer"},"type":"object"},"#
            + #""mood":{"type":"string"},"#
            + #""name":{"type":"string"},"#
            + #""previous":{"items":{"properties":{"city":{"type":"string"},"zip":{"type":["string","null"]}},"required":["city"],"type":"object"},"type":["array","null"]},"#
            + #""priority":{"enum":[1,5],"type":"integer"},"#
            + #""role":{"enum":["admin","user"],"type":"string"},"#
            + #""score":{"type":"number"},"#
            + #""small":{"maximum":255,"minimum":0,"type":"integer"},"#
            + #""tags":{"items":{"type":"string"},"type":"array"}},"#
            + #""required":["active","address","born","id","labels","mood","name","priority","role","score","small","tags"],"#
            + #""type":"object"}"#
        XCTAssertEqual(RequestSchema.derive(CreateUser.self), expected)
    }

    func testDatesFollowTheDecodersStrategy() {
        struct Event: Decodable { var at: Date }
        XCTAssertEqual(RequestSchema.derive(Event.self), #"{"properties":{"at":{"type":"number"}},"required":["at"],"type":"object"}"#)
        XCTAssertEqual(RequestSchema.derive(Event.self, dateDecoding: .iso8601),
                       #"{"properties":{"at":{"format":"date-time","type":"string"}},"required":["at"],"type":"object"}"#)
    }

    func testLeavesAndCollections() {
        XCTAssertEqual(RequestSchema.derive(Empty.self), #"{"type":"object"}"#)
        XCTAssertEqual(RequestSchema.derive(String.self), #"{"type":"string"}"#)
        XCTAssertEqual(RequestSchema.derive(Int32.self), #"{"maximum":2147483647,"minimum":-2147483648,"type":"integer"}"#)
        XCTAssertEqual(RequestSchema.derive(UInt64.self), #"{"minimum":0,"type":"integer"}"#)
        XCTAssertEqual(RequestSchema.derive(Int?.self), #"{"type":["integer","null"]}"#)
        XCTAssertEqual(RequestSchema.derive([Role].self), #"{"items":{"enum":["admin","user"],"type":"string"},"type":"array"}"#)
        XCTAssertEqual(RequestSchema.derive(Set<String>.self), #"{"items":{"type":"string"},"type":"array"}"#)
        XCTAssertEqual(RequestSchema.derive([Int: Bool].self),
                       #"{"additionalProperties":{"type":"boolean"},"propertyNames":{"pattern":"^-?[0-9]+$"},"type":"object"}"#)
        XCTAssertEqual(RequestSchema.derive([[String?]].self), #"{"items":{"items":{"type":["string","null"]},"type":"array"},"type":"array"}"#)
        XCTAssertEqual(RequestSchema.derive(Mood.self), #"{"type":"string"}"#)
        XCTAssertEqual(RequestSchema.derive(Role?.self), #"{"enum":["admin","user",null],"type":["string","null"]}"#)
    }

    final class TreeNode: Decodable {
        let name: String
        let children: [TreeNode]
        let parent: TreeNode?
    }

    struct Forest: Decodable {
        var trees: [TreeNode]
    }

    func testRecursiveTypesUseDefs() {
        let node = ##"{"properties":{"children":{"items":{"$ref":"#/$defs/TreeNode"},"type":"array"},"##
            + ##""name":{"type":"string"},"parent":{"anyOf":[{"$ref":"#/$defs/TreeNode"},{"type":"null"}]}},"##
            + ##""required":["children","name"],"type":"object"}"##
        XCTAssertEqual(RequestSchema.derive(TreeNode.self), ##"{"$defs":{"TreeNode":"## + node + ##"},"$ref":"#/$defs/TreeNode"}"##)
        XCTAssertEqual(RequestSchema.derive(Forest.self),
                       ##"{"$defs":{"TreeNode":"## + node
                           + ##"},"properties":{"trees":{"items":{"$ref":"#/$defs/TreeNode"},"type":"array"}},"required":["trees"],"type":"object"}"##)
    }

    /// Rejects the placeholder "" it is given: no schema, no trap.
    struct NonEmptyName: Decodable {
        var name: String
        enum CodingKeys: CodingKey { case name }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            guard !name.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .name, in: container, debugDescription: "empty name")
            }
        }
    }

    struct HoldsNonEmptyName: Decodable { var inner: NonEmptyName? }

    /// Payloads: the synthesized decoding needs the one key present in the JSON.
    enum Shape: Decodable { case circle(radius: Double), square(side: Double) }

    /// Asks for an object and a single value from the same decoder.
    struct Confused: Decodable {
        init(from decoder: any Decoder) throws {
            _ = try decoder.container(keyedBy: SchemaDerivationTests.AnyKey.self)
            _ = try decoder.singleValueContainer().decode(String.self)
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Each level is a new type: Box<Int>, Box<[Int]>, Box<[[Int]]>…
    final class Box<T: Decodable>: Decodable {
        let value: T
        let deeper: Box<[T]>?
    }

    func testTypesThatCannotBeDescribedGiveNil() {
        XCTAssertNil(RequestSchema.derive(Box<Int>.self))
        XCTAssertNil(RequestSchema.derive(NonEmptyName.self))
        XCTAssertNil(RequestSchema.derive(HoldsNonEmptyName.self)) // even behind an optional
        XCTAssertNil(RequestSchema.derive(Shape.self))
        XCTAssertNil(RequestSchema.derive(Confused.self))
    }

    /// A wrapper that checks its value: the JSON type is still known.
    struct Email: Decodable {
        var value: String
        init(from decoder: any Decoder) throws {
            value = try decoder.singleValueContainer().decode(String.self)
            guard value.contains("@") else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an email")) }
        }
    }

    /// Hand-written decoding: a nested container, a probe with `contains`,
    /// an explicit null check, a fixed-size pair and a dynamic-key map.
    struct Custom: Decodable {
        enum Keys: String, CodingKey { case meta, version, note, point, extra }
        enum MetaKeys: String, CodingKey { case owner }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            let meta = try container.nestedContainer(keyedBy: MetaKeys.self, forKey: .meta)
            _ = try meta.decode(String.self, forKey: .owner)
            if container.contains(.version) { _ = try container.decode(Int.self, forKey: .version) }
            if try !container.decodeNil(forKey: .note) { _ = try container.decode(String.self, forKey: .note) }
            var point = try container.nestedUnkeyedContainer(forKey: .point)
            _ = try point.decode(Double.self)
            _ = try point.decode(Double.self)
            let extra = try container.superDecoder(forKey: .extra).container(keyedBy: AnyKey.self)
            for key in extra.allKeys { _ = try extra.decode(String.self, forKey: key) }
        }
    }

    func testHandWrittenDecoding() {
        XCTAssertEqual(RequestSchema.derive(Email.self), #"{"type":"string"}"#)
        let expected = #"{"properties":{"extra":{"type":"object"},"meta":{"properties":{"owner":{"type":"string"}},"required":["owner"],"type":"object"},"#
            + #""note":{"type":["string","null"]},"point":{"minItems":2,"prefixItems":[{"type":"number"},{"type":"number"}],"type":"array"},"#
            + #""version":{"type":"integer"}},"required":["extra","meta","note","point"],"type":"object"}"#
        XCTAssertEqual(RequestSchema.derive(Custom.self), expected)
    }

    /// Loops over its elements until `isAtEnd` and decodes nothing without a container.
    struct Lenient: Decodable {
        init(from decoder: any Decoder) throws {
            var items = try decoder.unkeyedContainer()
            while !items.isAtEnd { _ = try items.decode(Int.self) }
        }
    }

    struct Anything: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    func testOpenShapes() {
        XCTAssertEqual(RequestSchema.derive(Lenient.self), #"{"type":"array"}"#)
        XCTAssertEqual(RequestSchema.derive(Anything.self), #"{}"#)
    }

    func testDerivationIsDeterministic() {
        let first = RequestSchema.derive(CreateUser.self)
        for _ in 0..<5 { XCTAssertEqual(RequestSchema.derive(CreateUser.self), first) }
    }
}
