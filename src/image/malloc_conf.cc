// jemalloc's built-in options for every program that links it (CMake target
// thumbflow_malloc); the MALLOC_CONF environment variable still overrides them.
//
// libvips allocates and frees its region and decode buffers (megabytes each) for every image,
// and with jemalloc's defaults most of them come back as fresh pages: about 400,000 page
// faults for three passes over the 34-photo benchmark corpus, a third of the CPU time in the
// kernel on a 2-core VM. Measured with `perf stat -e task-clock,page-faults
// build/bench/thumb/thumb_bench --corpus bench-corpus --concurrency 1 --repeat 1 --warmup 1
// --mode in-process` (loaded machine, so CPU seconds rather than wall):
//   defaults                               15.4-18.9 s CPU, 400k faults, peak RSS 207 MiB
//   dirty/muzzy_decay_ms:-1 (never purge)   13.9 s,          298k,          328 MiB
//   glibc malloc instead of jemalloc        11.1 s,          158k,          339 MiB
//   thp:always,metadata_thp:always          9.0 s,           43k,           301 MiB
//   the options below                       7.8 s,           23k,           233 MiB
// thp:always backs jemalloc's extents with transparent huge pages (the kernel's "madvise"
// mode, Debian's default, honours it; where THP is off it changes nothing);
// oversize_threshold:0 keeps allocations above 8 MiB in the ordinary arenas, whose dirty
// pages are reused, instead of a dedicated arena purged at once; narenas:1 keeps one arena,
// which held peak RSS near the default's (an image's buffers are freed by other libvips
// threads than the one that allocated them).
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's (malloc_conf, see `man jemalloc`).
const char* malloc_conf = "thp:always,metadata_thp:always,oversize_threshold:0,narenas:1";
}
