// Package signing makes and checks the minisign signatures of update zips.
//
// A signature is a minisign signature (see aead.dev/minisign) of the whole
// zip, kept beside it as NAME.zip.minisig. Keys and signatures are the
// standard minisign formats, so the minisign tool can make and check them
// too:
//
//	minisign -G -W -p upkeep.pub -s upkeep.key   # like GenerateKey
//	minisign -S -s upkeep.key -m blog-1.4.0.zip  # like SignFile
//	minisign -V -p upkeep.pub -m blog-1.4.0.zip  # like Keyring.Check
//
// # Keys
//
// [GenerateKey] writes a key pair, [Trust] copies a public key into the
// folder of trusted keys (.upkeep/trusted/KEYID.pub) and [LoadKeyring]
// reads that folder plus any key files given with --trusted-key. Key IDs
// are shown as upper-case hex digits without leading zeros, as the minisign tool shows them.
//
// # Signing
//
// [SignFile] streams the file and makes a pre-hashed (HashEdDSA) signature,
// the default of minisign 0.10 and later, so a zip of any size is signed
// without being held in memory.
//
// # Checking
//
// [Keyring.Check] gives a [Result] whose [State] is one of [Unsigned],
// [Valid], [Invalid], [Unverified] or [Unreadable]. Once any key is trusted
// every state but Valid is refused. With no key trusted nothing is refused,
// but a malformed signature is still reported. Pre-hashed signatures are
// checked by streaming the file; legacy ones (minisign -l) need the whole
// file in memory and are checked up to [MaxLegacySize].
//
// The package is internal: updates and the CLI import it; it imports no
// other upkeep package.
package signing
