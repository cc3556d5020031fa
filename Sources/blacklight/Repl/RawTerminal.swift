#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Raw mode on a terminal for as long as one line is being edited: no echo, no line buffering, no
/// signals from Ctrl-C (the editor handles it). Output processing is off too, so lines end in "\r\n".
/// Switched with TCSANOW, not TCSAFLUSH: keys typed ahead while a chunk runs must not be dropped.
struct RawTerminal {
    let fd: Int32
    private var original = termios()

    init?(fd: Int32) {
        self.fd = fd
        guard isatty(fd) == 1, tcgetattr(fd, &original) == 0 else { return nil }
    }

    func enable() {
        var raw = original
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        _ = tcsetattr(fd, TCSANOW, &raw)
    }

    func restore() {
        var saved = original
        _ = tcsetattr(fd, TCSANOW, &saved)
    }

    /// Columns of the terminal, 80 when unknown.
    var columns: Int {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
