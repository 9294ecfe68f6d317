package linux

// deniedArch are calls only this architecture has.
var deniedArch []uint32
