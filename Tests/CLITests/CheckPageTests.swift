import Foundation
import TestSupport
import Testing

/// The HTML report, loaded in a real headless browser (Debian's chromium; .ci/run
/// installs it): its DOM holds the table and the plots, and its screenshot shows the
/// verdict colours, so the page renders, not merely parses.
@Suite(.serialized) struct CheckPageTests {
    static let captures = Repository.data("captures")

    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func thePageRendersTheTableAndThePlots() throws {
        let browser = try #require(Self.chromium, "chromium is not installed: apt-get install chromium")
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let page = scratch.path("report.html")
        let result = try BNFileBinary.run(["check", Self.captures + "/resnet18_corrupt", "--html", page])
        #expect(result.status == 1)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(
            !html.contains("http://")
                || html.components(separatedBy: "http://").count
                    == html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count,
            "no external asset: the only URL is the SVG namespace")
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=" + scratch.path("profile"),
        ]
        let dom = try ChildProcess.run([browser] + flags + ["--dump-dom", "file://" + page])
        #expect(dom.stdout.contains("<table id=\"layers\">"), "\(dom.stderr)")
        #expect(dom.stdout.components(separatedBy: "<svg").count - 1 >= 12, "two plots per key and layer")
        #expect(dom.stdout.contains("BEYOND 3.17e+03"))
        let shot = scratch.path("shot.png")
        _ = try ChildProcess.run(
            [browser] + flags + ["--screenshot=" + shot, "--window-size=1000,700", "file://" + page])
        let colours = try Python.run(Self.pngColours + "\nprint(' '.join(sorted(colours(\(Python.quoted(shot))))))")
        #expect(colours.contains("f4a6a6"), "the beyond cell is drawn in its colour: \(colours.prefix(200))")
        #expect(colours.contains("dff3d8"), "within cells are drawn")
        #expect(colours.contains("c0392b"), "beyond-limit histogram bars are drawn")
    }

    /// A small PNG reader (8-bit RGB or RGBA, non-interlaced, as chromium writes): the
    /// set of colours in the image, as hex strings.
    static let pngColours = """
        import struct, zlib
        def colours(path):
            data = open(path, 'rb').read()
            assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            pos, idat = 8, b''
            while pos < len(data):
                length, kind = struct.unpack('>I4s', data[pos:pos + 8])
                body = data[pos + 8:pos + 8 + length]
                if kind == b'IHDR': width, height, depth, ctype = struct.unpack('>IIBB', body[:10])
                if kind == b'IDAT': idat += body
                pos += 12 + length
            channels = {2: 3, 6: 4}[ctype]
            raw, stride, prev, seen, i = zlib.decompress(idat), width * channels, bytearray(width * channels), set(), 0
            for _ in range(height):
                f, row = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
                for x in range(stride):
                    a = row[x - channels] if x >= channels else 0
                    b = prev[x]; c = prev[x - channels] if x >= channels else 0
                    if f == 1: row[x] = (row[x] + a) & 255
                    elif f == 2: row[x] = (row[x] + b) & 255
                    elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
                    elif f == 4:
                        p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                        row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                for x in range(0, stride, channels): seen.add('%02x%02x%02x' % tuple(row[x:x + 3]))
                prev = row
            return seen
        """
}
