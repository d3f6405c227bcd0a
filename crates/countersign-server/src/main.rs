/// glibc's malloc cost a fifth of the server's CPU on a sync page (perf:
/// `_int_malloc`, `_int_free`, `malloc_consolidate`, `unlink_chunk`): a
/// response builds thousands of small strings and maps and frees them all.
/// mimalloc serves those from per-thread free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    countersign_server::cli::main()
}
