import Foundation

/// JSON Pointers (RFC 6901): how errors name a place in the data or the schema.
enum JSONPointer {
    /// One reference token: `~` becomes `~0` and `/` becomes `~1`.
    static func escape(_ token: String) -> String {
        guard token.contains(where: { $0 == "~" || $0 == "/" }) else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func unescape(_ token: Substring) -> String {
        guard token.contains("~") else { return String(token) }
        // ~1 first would turn "~01" into "/"; the RFC decodes ~1 then ~0.
        return token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }

    /// `parent` extended by one token.
    static func appending(_ parent: String, _ token: String) -> String {
        parent + "/" + escape(token)
    }

    /// The tokens of a pointer ("" is the whole document); nil if it does not
    /// start with "/".
    static func tokens(_ pointer: String) -> [String]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(unescape)
    }
}

/// One step from a value into a member: the path the validator is at,
/// rendered as a pointer only when an error needs it.
enum PathStep {
    case key(String)
    case index(Int)

    static func pointer(_ steps: [PathStep]) -> String {
        var text = ""
        for step in steps {
            switch step {
            case .key(let key): text += "/" + JSONPointer.escape(key)
            case .index(let index): text += "/" + String(index)
            }
        }
        return text
    }
}
