// Package audit keeps cordon's tamper-evident record of what agents ran.
//
// The log is a file of JSON records, one per line. Each record carries its
// sequence number and the SHA-256 of the line before it, so editing,
// removing, inserting or reordering a record breaks the chain at that
// place, and Verify says where. A Log appends records safely from many
// processes at once: each Append holds an exclusive flock on the file,
// reads only the last line to chain onto, and writes the new line with one
// write(2) on a descriptor opened with O_APPEND.
//
// A bare hash chain cannot show that records were cut from its end. With
// Options.SigningKey, every Append also refreshes a signed head beside the
// log (PATH.head) naming the last record; Verify with the public key then
// detects truncation, as long as the private key is out of the attacker's
// reach.
//
// The record format, the chain and what is and is not detected are
// described in docs/audit.md.
package audit
