#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A small line editor over a raw terminal: arrows, Home/End, Backspace/Delete, Ctrl-A/E/B/F/K/U/W/L,
/// Up/Down (and Ctrl-P/N) through a history kept in a file across sessions.
///
/// Why not libedit or readline: this needs a dozen keys and a history file, which is ~200 lines
/// here, while libedit adds a system-library target, an apt package on every machine that builds
/// Blacklight, and a C API whose callbacks must stay clear of Swift 6's isolation checks.
final class LineEditor {
    enum Input: Equatable {
        case line(String)
        case interrupted
        case endOfInput
    }

    private let terminal: RawTerminal
    private let history: History
    private var pending: [UInt8] = []

    init?(history: History) {
        guard let terminal = RawTerminal(fd: STDIN_FILENO) else { return nil }
        self.terminal = terminal
        self.history = history
    }

    func readLine(prompt: String) -> Input {
        terminal.enable()
        defer { terminal.restore() }
        var buffer: [Character] = []
        var cursor = 0
        var browsing = history.entries.count
        var draft: [Character] = []
        write(prompt)
        while true {
            guard let byte = readByte() else { return .endOfInput }
            switch byte {
            case 13, 10:
                write("\r\n")
                let line = String(buffer)
                history.add(line)
                return .line(line)
            case 3:  // Ctrl-C
                write("^C\r\n")
                return .interrupted
            case 4:  // Ctrl-D: end of input on an empty line, else delete under the cursor
                if buffer.isEmpty {
                    write("\r\n")
                    return .endOfInput
                }
                if cursor < buffer.count { buffer.remove(at: cursor) }
            case 1: cursor = 0
            case 5: cursor = buffer.count
            case 2: cursor = max(0, cursor - 1)
            case 6: cursor = min(buffer.count, cursor + 1)
            case 11: buffer.removeSubrange(cursor...)
            case 21:
                buffer.removeSubrange(..<cursor)
                cursor = 0
            case 23:  // Ctrl-W: the word before the cursor and the spaces after it
                var start = cursor
                while start > 0, buffer[start - 1] == " " { start -= 1 }
                while start > 0, buffer[start - 1] != " " { start -= 1 }
                buffer.removeSubrange(start..<cursor)
                cursor = start
            case 12: write("\u{1b}[H\u{1b}[2J")
            case 127, 8:
                if cursor > 0 {
                    buffer.remove(at: cursor - 1)
                    cursor -= 1
                }
            case 16, 14:
                recall(up: byte == 16, &buffer, &cursor, &browsing, &draft)
            case 27:
                switch escapeSequence() {
                case "A": recall(up: true, &buffer, &cursor, &browsing, &draft)
                case "B": recall(up: false, &buffer, &cursor, &browsing, &draft)
                case "C": cursor = min(buffer.count, cursor + 1)
                case "D": cursor = max(0, cursor - 1)
                case "H", "1~", "7~": cursor = 0
                case "F", "4~", "8~": cursor = buffer.count
                case "3~": if cursor < buffer.count { buffer.remove(at: cursor) }
                default: break
                }
            case 9:
                buffer.insert(contentsOf: "  ", at: cursor)
                cursor += 2
            default:
                guard byte >= 32, let character = character(startingWith: byte) else { break }
                buffer.insert(character, at: cursor)
                cursor += 1
            }
            refresh(prompt, buffer, cursor)
        }
    }

    private func recall(up: Bool, _ buffer: inout [Character], _ cursor: inout Int, _ index: inout Int, _ draft: inout [Character]) {
        let entries = history.entries
        if up {
            guard index > 0 else { return }
            if index == entries.count { draft = buffer }
            index -= 1
            buffer = Array(entries[index])
        } else {
            guard index < entries.count else { return }
            index += 1
            buffer = index == entries.count ? draft : Array(entries[index])
        }
        cursor = buffer.count
    }

    /// Redraws the line and puts the cursor back. A line wider than the terminal scrolls
    /// sideways (a window around the cursor), so the redraw never wraps onto a second row.
    private func refresh(_ prompt: String, _ buffer: [Character], _ cursor: Int) {
        let room = max(10, terminal.columns - prompt.count - 1)
        var start = 0
        if buffer.count > room { start = min(max(0, cursor - room + 1), buffer.count - room) }
        let visible = buffer[start..<min(buffer.count, start + room)]
        var text = "\r" + prompt + String(visible) + "\u{1b}[0K\r"
        let column = prompt.count + cursor - start
        if column > 0 { text += "\u{1b}[\(column)C" }
        write(text)
    }

    /// The final byte(s) of an escape sequence: "A" for ESC [ A, "3~" for ESC [ 3 ~.
    private func escapeSequence() -> String {
        guard let first = readByte() else { return "" }
        guard first == UInt8(ascii: "[") || first == UInt8(ascii: "O") else { return "" }
        var tail = ""
        while let b = readByte() {
            tail.append(Character(Unicode.Scalar(b)))
            if (b >= 0x40 && b <= 0x7e) { break }
            if tail.count > 8 { break }
        }
        return tail
    }

    private func character(startingWith lead: UInt8) -> Character? {
        var bytes = [lead]
        let extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0
        for _ in 0..<extra {
            guard let b = readByte() else { break }
            bytes.append(b)
        }
        return String(decoding: bytes, as: UTF8.self).first
    }

    private func readByte() -> UInt8? {
        if !pending.isEmpty { return pending.removeFirst() }
        var chunk = [UInt8](repeating: 0, count: 256)
        while true {
            let n = read(STDIN_FILENO, &chunk, chunk.count)
            if n > 0 {
                pending = Array(chunk[1..<n])
                return chunk[0]
            }
            if n < 0, errno == EINTR { continue }
            return nil
        }
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// Lines typed at the prompt, kept in a file across sessions (the newest 1,000).
final class History {
    private(set) var entries: [String] = []
    let url: URL?
    let limit = 1000

    init(url: URL?) {
        self.url = url
        if let url, let text = try? String(contentsOf: url, encoding: .utf8) {
            entries = text.split(separator: "\n").map(String.init).suffix(limit).map { $0 }
        }
    }

    func add(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty, entries.last != line else { return }
        entries.append(line)
        if entries.count > limit { entries.removeFirst(entries.count - limit) }
        guard let url else { return }
        // Append as each line is entered, so a killed session keeps its history.
        if let handle = try? FileHandle(forWritingTo: url) {
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            try? handle.close()
        } else {
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? Data((line + "\n").utf8).write(to: url)
        }
    }
}
