import ArgumentParser
import Crypto
import Foundation
import PluginSignatures

/// Pinning plugins, offline (no kernel needed): a signing key, `.sig` files,
/// and the check the kernel makes with `--trust`.
extension KernelCtl {
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an Ed25519 signing key; prints the trust-file line of its public key.")
        @Option(help: "Where to write the private key (mode 0600).") var out: String
        @Option(help: "A label for the trust-file line.") var label: String = "release key"

        func run() throws {
            let key = Curve25519.Signing.PrivateKey()
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists; not overwriting a key") }
            guard FileManager.default.createFile(atPath: out, contents: Data(key.rawRepresentation.base64EncodedString().utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write \(out)")
            }
            print("ed25519 \(key.publicKey.rawRepresentation.base64EncodedString())  \(label)")
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a plugin file: writes <file>.sig, which a kernel started with --trust accepts.")
        @Argument(help: "The plugin file (.so).") var file: String
        @Option(help: "The private key from `kernelctl keygen`.") var key: String

        func run() throws {
            guard let keyText = try? String(contentsOfFile: key, encoding: .utf8),
                  let raw = Data(base64Encoded: keyText.trimmingCharacters(in: .whitespacesAndNewlines)),
                  let privateKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
                throw ValidationError("\(key) is not a key made by `kernelctl keygen`")
            }
            guard let bytes = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let digest = PluginDigest.hex([UInt8](bytes))
            let signature = try privateKey.signature(for: PluginDigest.signedMessage(digest))
            try (signature.base64EncodedString() + "\n").write(toFile: file + ".sig", atomically: true, encoding: .utf8)
            print("signed \(file): sha256 \(digest), \(file).sig")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a plugin file as a kernel started with --trust would: pinned digest or a valid .sig.")
        @Argument(help: "The plugin file (.so).") var file: String
        @Option(help: "The trust file.") var trust: String

        func run() throws {
            let trustFile: TrustFile
            do { trustFile = try TrustFile(contentsOfFile: trust) } catch { throw ValidationError("\(error)") }
            guard let bytes = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let signature = try? String(contentsOfFile: file + ".sig", encoding: .utf8)
            if let problem = trustFile.problem(plugin: [UInt8](bytes), signature: signature) {
                FileHandle.standardError.write(Data("not trusted: \(file): \(problem)\n".utf8))
                throw ExitCode(1)
            }
            print("trusted: \(file)")
        }
    }
}
