import CKernelABI
import PluginSignatures
import Glibc

/// A plugin file opened and validated: its image is mapped and its entry
/// point has returned a descriptor the kernel accepts.
struct PluginImage: @unchecked Sendable {
    let sourcePath: String
    /// The version of the source file that was loaded (taken before the copy).
    var sourceStamp: FileStamp? = nil
    let imagePath: String
    let generation: Int
    /// Monotonic microseconds when opening began, to report the load time.
    let openStarted: Int64
    let handle: UnsafeMutableRawPointer
    let descriptor: kn_plugin_descriptor
    let name: String
    let version: String
    let summary: String
    let dependsOn: [String]
    let flags: UInt32

    var isUnloadSafe: Bool { flags & UInt32(KN_PLUGIN_UNLOAD_SAFE) != 0 }
}

/// Opens plugin files.
///
/// A file is never opened in place: it is copied to a unique path under the
/// images directory first (`<name>-g<generation>.so`), because `dlopen` of a
/// path already loaded returns the old image, and a reload must run the new
/// code; the copy also keeps a loaded image safe from the file being rewritten. Images are opened with
/// `RTLD_NODELETE`: the Swift runtime keeps pointers into every image it has
/// seen, so unmapping one would break the others (see ARCHITECTURE.md).
struct PluginLoader: @unchecked Sendable {
    let imagesDirectory: String
    let host: UnsafePointer<kn_host_api>
    /// Refuse files that another user could have written (`PluginTrust`).
    var checksTrust = true
    /// With a trust file, only pinned or signed plugins load.
    var trust: TrustFile?

    func open(_ path: String, generation: Int) throws(RejectionError) -> PluginImage {
        func reject(_ reason: String) -> RejectionError { RejectionError(path: path, reason: reason) }
        let openStarted = monotonicMicroseconds()
        if checksTrust, let problem = PluginTrust.problem(path, what: "plugin file") {
            throw reject("not trusted: \(problem)")
        }

        switch FileIO.readPrefix(path, count: 4) {
        case .failure(let error): throw reject("cannot read file: \(error)")
        case .success(let magic): guard magic == [0x7F, 0x45, 0x4C, 0x46] else { throw reject("not a shared object: no ELF header") }
        }
        let stamp = PluginFiles.stamp(path)
        var base = path.split(separator: "/").last.map(String.init) ?? "plugin"
        if base.hasSuffix(".so") { base.removeLast(3) }
        let imagePath = "\(imagesDirectory)/\(base)-g\(generation).so"
        do { try FileIO.copy(path, to: imagePath) } catch { throw reject("cannot copy to \(imagePath): \(error)") }
        // Checked on the copy, which is what gets mapped and cannot change any more.
        if let problem = ELFCheck.incompleteness(of: imagePath) {
            unlink(imagePath)
            throw reject("incomplete shared object: \(problem)")
        }
        // Pinning is checked on the copy too: the bytes verified are the bytes mapped.
        if let trust, let problem = PinnedPlugins.problem(image: imagePath, source: path, trust: trust) {
            unlink(imagePath)
            throw reject("not trusted: \(problem)")
        }

        // Its constructors run inside dlopen, before its ranges can be recorded.
        CrashGuard.loading(PluginFiles.baseName(path))
        defer { CrashGuard.loading(nil) }
        guard let handle = dlopen(imagePath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw reject("dlopen failed: \(message.split(separator: ":", maxSplits: 1).last.map(String.init) ?? message)")
        }
        // Recorded before its entry point runs: a fault there names the file;
        // later ones name the plugin.
        CrashGuard.record(handle: handle, name: PluginFiles.baseName(path))
        guard let symbol = dlsym(handle, KN_ENTRY_SYMBOL) else {
            dlclose(handle)
            throw reject("no \(KN_ENTRY_SYMBOL) symbol exported")
        }
        let entry = unsafeBitCast(symbol, to: kn_plugin_entry_fn.self)
        guard let returned = entry(host) else {
            throw reject("\(KN_ENTRY_SYMBOL) returned no descriptor")
        }
        let descriptor = try Self.validate(returned, reject: reject)
        let name = String(cString: descriptor.name)
        CrashGuard.record(handle: handle, name: name)
        var image = PluginImage(
            sourcePath: path, imagePath: imagePath, generation: generation, openStarted: openStarted, handle: handle, descriptor: descriptor, name: name,
            version: optionalString(descriptor.version) ?? "0",
            summary: optionalString(descriptor.description) ?? "",
            dependsOn: Self.strings(descriptor.depends_on),
            flags: descriptor.flags)
        image.sourceStamp = stamp
        return image
    }

    /// Reads the descriptor as far as its struct_size says (fields a plugin
    /// built for an older minor lacks stay zero) and checks it.
    private static func validate(
        _ pointer: UnsafePointer<kn_plugin_descriptor>, reject: (String) -> RejectionError
    ) throws(RejectionError) -> kn_plugin_descriptor {
        let headerSize = 8 // struct_size + abi_major + abi_minor
        let declared = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
        guard declared >= headerSize else {
            throw reject("invalid descriptor: struct_size \(declared) is smaller than the ABI header")
        }
        let major = UnsafeRawPointer(pointer).load(fromByteOffset: 4, as: UInt16.self)
        let minor = UnsafeRawPointer(pointer).load(fromByteOffset: 6, as: UInt16.self)
        guard major == KN_ABI_MAJOR else {
            throw reject("ABI major \(major) is not supported: the kernel speaks ABI \(KN_ABI_MAJOR).\(KN_ABI_MINOR)")
        }
        guard minor <= KN_ABI_MINOR else {
            throw reject("ABI minor \(major).\(minor) is newer than the kernel's \(KN_ABI_MAJOR).\(KN_ABI_MINOR)")
        }
        let required = MemoryLayout<kn_plugin_descriptor>.offset(of: \.start)!
        guard declared >= required else {
            throw reject("invalid descriptor: struct_size \(declared) is smaller than the \(required) bytes of ABI 1.0")
        }
        var descriptor = kn_plugin_descriptor()
        withUnsafeMutableBytes(of: &descriptor) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(
                start: pointer, count: min(declared, MemoryLayout<kn_plugin_descriptor>.size)))
        }
        guard let namePointer = descriptor.name else { throw reject("invalid descriptor: name is NULL") }
        let name = String(cString: namePointer)
        guard isValidPluginName(name) else {
            throw reject("invalid descriptor: name '\(name)' must match [a-z0-9_-]{1,64}")
        }
        guard descriptor.version != nil else { throw reject("invalid descriptor: version is NULL") }
        guard descriptor.`init` != nil else { throw reject("invalid descriptor: no init hook") }
        return descriptor
    }

    private static func strings(_ list: UnsafePointer<UnsafePointer<CChar>?>?) -> [String] {
        guard let list else { return [] }
        var result: [String] = []
        var index = 0
        while let item = list[index], index < 256 {
            result.append(String(cString: item))
            index += 1
        }
        return result
    }
}

func isValidPluginName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 64
        && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D }
}

