// Package feed publishes update zips as a feed and fetches from one.
//
// A feed is a static folder any HTTP server can serve: index.json (see
// [Index], read by [Parse] as strictly as a manifest), its signature
// index.json.minisig, the zips and their .minisig files. [Build] writes
// one from a folder of update zips.
//
// # Fetching
//
// [Fetch] downloads the index and refuses it (a [*RefusedError]) unless a
// trusted key signed it, when it has expired, and when its serial is lower
// than the last one the root accepted from that URL, or the same with
// other content (.upkeep/feed.json, see [State]). [Select] then picks, per
// installed pack, the newest version its rules allow. Each zip is
// downloaded by a [Client] into Updates_Pending/.incoming/NAME.zip.part,
// resumed with Range and If-Range, hashed (sha256, and the signature's
// BLAKE2b-512) while the bytes arrive, and only when everything matches
// fsynced and renamed into Updates_Pending.
//
// The caller of Fetch holds the root's lock; updates.Fetch does that.
//
// # Imports
//
// feed imports manifest, layout and internal helpers; updates imports it.
package feed
