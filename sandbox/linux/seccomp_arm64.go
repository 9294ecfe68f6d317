package linux

import "golang.org/x/sys/unix"

// deniedArch are calls only this architecture has.
var deniedArch []uint32

// modeCalls are the calls that set a file's mode here: the index of the
// mode argument and, for the open calls, of the flags (-1: always).
var modeCalls = []modeCall{
	{unix.SYS_FCHMOD, 1, -1}, {unix.SYS_FCHMODAT, 2, -1}, {sysFchmodat2, 2, -1},
	{unix.SYS_MKNODAT, 2, -1}, {unix.SYS_OPENAT, 3, 2},
}
