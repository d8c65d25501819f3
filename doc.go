// Command upkeep keeps a self-hosted application up to date. People drop
// update zips into the root's Updates_Pending folder; at the application's
// start upkeep reports them, checks them, and lets the application start only
// when nothing changes by surprise. Run `upkeep --help`; README.md has a tour.
//
// upkeep is also a library that Go applications embed. Its packages, from
// the top down; imports only run downwards:
//
//   - main (this folder): a few lines that call internal/cli, the CLI
//     (urfave/cli/v2, one file per command): flags to options structs,
//     errors to exit codes (one table, in internal/cli/exit.go).
//   - [github.com/upkeep/upkeep/admin]: the admin pages and their JSON API,
//     the limited mode of the start, and Guard for embedding applications
//     (examples/webapp is one).
//   - [github.com/upkeep/upkeep/jsondoc]: the JSON documents, one producer
//     each, printed by the CLI's --json and served by the admin API alike.
//   - [github.com/upkeep/upkeep/updates]: the bootstrap: scan Updates_Pending,
//     classify and order the updates, report them.
//   - [github.com/upkeep/upkeep/feed]: feeds: the signed index.json format,
//     building a feed folder, and fetching from one into Updates_Pending
//     (resumable, verified downloads); updates.Fetch adds the root's lock.
//   - [github.com/upkeep/upkeep/backupstore]: backups of files and database.
//   - [github.com/upkeep/upkeep/packs]: installed packs and their database
//     schemas.
//   - [github.com/upkeep/upkeep/manifest]: the update format: manifest.json,
//     reading and checking update zips, building them.
//   - [github.com/upkeep/upkeep/layout]: the root's folders, the one type
//     every package above takes for a root.
//   - internal/signing (minisign keys
//     and signatures), internal/atomicfile (crash-safe writes): helpers, not
//     API.
//
// main -> internal/cli -> admin -> jsondoc -> updates -> feed, backupstore, packs -> manifest, layout;
// internal packages may be imported from any level and import none of the
// above but manifest and layout.
package main
