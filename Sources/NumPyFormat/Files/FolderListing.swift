import Glibc

/// The names in a folder (not recursive), without Foundation, whose ICU would cost
/// every run of a tool 12 MB.
public enum FolderListing {
    /// The regular files of `folder`, sorted by their bytes, so that an order built on
    /// it does not depend on the locale or on the order readdir happens to return.
    public static func files(in folder: String) throws(NumPyFormatError) -> [String] {
        guard let names = names(in: folder) else {
            throw NumPyFormatError(
                .system, file: folder,
                message: "cannot list the folder: \(String(cString: strerror(errno)))")
        }
        return names.filter { isFile(join(folder, $0)) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Every entry of `folder` but `.` and `..`, in readdir's order; nil when it cannot
    /// be opened (errno says why).
    static func names(in folder: String) -> [String]? {
        guard let listing = opendir(folder.isEmpty ? "." : folder) else { return nil }
        defer { closedir(listing) }
        var names: [String] = []
        while let entry = readdir(listing) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    public static func isFile(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    public static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
