#!/usr/bin/env python3
"""Run a command with writes confined to one directory, and print each
violation as the `catbox` command does:

    catbox: violation: openat "/etc/x" -> "/etc/x" (pid 123, EACCES)

Usage: python3 sandbox.py [--image DIR] WRITABLE_DIR COMMAND [ARG...]

With --image DIR (the root view), the command sees the host's whole tree and
its writes outside WRITABLE_DIR land in DIR (new or empty) instead of the
host; at the end it prints, as `catbox --image` does,

    catbox: image DIR: 2 added, 0 modified, 0 removed

Exit status: the command's (128+N if killed by signal N), 127 if it was not
found. Needs the catbox package: pip install ./bindings/python
"""

import os
import re
import sys

import catbox


def quoted(s):
    """s in double quotes, escaped as the catbox command prints it."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def main():
    args = sys.argv[1:]
    image = None
    if len(args) >= 2 and args[0] == "--image":
        image = args[1]
        args = args[2:]
    if len(args) < 2:
        sys.stderr.write("usage: %s [--image DIR] WRITABLE_DIR COMMAND [ARG...]\n" % sys.argv[0])
        return 125
    writable = os.path.abspath(args[0])
    command = args[1:]

    def child():
        # Runs in the sandboxed child: become the command.
        try:
            os.execvp(command[0], command)
        except OSError as e:
            sys.stderr.write("catbox: %s: %s\n" % (command[0], e.strerror))
            sys.exit(127 if e.errno == 2 else 126)

    # A writable path is a plain string prefix (the original module's
    # meaning). To allow WRITABLE_DIR and what is below it, but not a
    # sibling "WRITABLE_DIR-old" (as `catbox -w` does), give the tree with a
    # trailing "/" and the directory itself as a regular expression ("~").
    try:
        ret = catbox.run(child, [writable + "/", "~^" + re.escape(writable) + "$"], image=image)
    except catbox.ImageError as e:
        sys.stderr.write("catbox: %s\n" % e)
        return 125
    for v in ret.records:
        sys.stderr.write(
            "catbox: violation: %s %s -> %s (pid %d, %s)\n"
            % (v.operation, quoted(v.path), quoted(v.canonical), v.pid,
               v.errno or "allowed: collect-only")
        )
    if ret.image is not None:
        sys.stderr.write(
            "catbox: image %s: %d added, %d modified, %d removed\n"
            % (ret.image.dir, len(ret.image.added), len(ret.image.modified),
               len(ret.image.removed))
        )
    return ret.code


if __name__ == "__main__":
    sys.exit(main())
