import Glibc

/// The files of the plugins directory, and the copies of loaded images.
enum PluginFiles {
    /// The plugin files of `directory`, sorted by name.
    static func list(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var files: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if isPluginFileName(name) { files.append("\(directory)/\(name)") }
        }
        return files.sorted()
    }

    /// `*.so`, not hidden: editors and copy tools write hidden temporaries.
    /// The file's name without its directory ("libhello.so").
    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    static func isPluginFileName(_ name: String) -> Bool {
        name.hasSuffix(".so") && !name.hasPrefix(".")
    }

    /// Removes every file of `directory` (the image copies of an earlier run).
    static func removeAll(in directory: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { unlink("\(directory)/\(name)") }
        }
    }

    /// What tells one version of a file from another: device, inode, size
    /// and modification time. nil when the file cannot be read.
    static func stamp(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileStamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                         modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }
}

/// One version of a plugin file (see `PluginFiles.stamp`).
struct FileStamp: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64
}

/// Whether a shared object is whole: every segment `dlopen` maps, and the
/// section table, lie inside the file. A file still being written (a slow
/// copy caught by the first scan) would otherwise be mapped past its end,
/// and touching that memory kills the process (SIGBUS).
enum ELFCheck {
    /// nil when complete, otherwise why not. 64-bit little-endian ELF only;
    /// anything else is left to `dlopen` to judge.
    static func incompleteness(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "cannot read it" }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return "cannot stat it" }
        let size = UInt64(info.st_size)
        // Every bound is checked by subtraction: a crafted header must not overflow the arithmetic.
        func fits(_ offset: UInt64, _ length: UInt64) -> Bool { offset <= size && length <= size - offset }
        func read(_ count: Int, at offset: UInt64) -> [UInt8]? {
            guard fits(offset, UInt64(count)) else { return nil }
            var bytes = [UInt8](repeating: 0, count: count)
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return got == count ? bytes : nil
        }
        func integer<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as: T.Type) -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<MemoryLayout<T>.size { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            return value
        }
        guard let header = read(64, at: 0) else { return "shorter than an ELF header (\(size) bytes)" }
        guard header[4] == 2, header[5] == 1 else { return nil } // not ELF64 little-endian
        let programOffset = integer(header, 32, as: UInt64.self)
        let sectionOffset = integer(header, 40, as: UInt64.self)
        let programEntrySize = integer(header, 54, as: UInt16.self)
        let programCount = integer(header, 56, as: UInt16.self)
        let sectionEntrySize = integer(header, 58, as: UInt16.self)
        let sectionCount = integer(header, 60, as: UInt16.self)
        if sectionOffset > 0 && !fits(sectionOffset, sectionCount * sectionEntrySize) {
            return "truncated: its section table ends past its \(size) bytes (still being written?)"
        }
        guard programEntrySize >= 56, let table = read(Int(programCount * programEntrySize), at: programOffset) else {
            return "truncated: its program headers end past its \(size) bytes (still being written?)"
        }
        for index in 0..<Int(programCount) {
            let entry = index * Int(programEntrySize)
            guard integer(table, entry, as: UInt32.self) == 1 else { continue } // PT_LOAD
            let offset = integer(table, entry + 8, as: UInt64.self)
            let fileSize = integer(table, entry + 32, as: UInt64.self)
            if !fits(offset, fileSize) {
                return "truncated: a segment of \(fileSize) bytes at offset \(offset) ends past its \(size) bytes (still being written?)"
            }
        }
        return nil
    }
}
