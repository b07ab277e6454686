"""GitOps around the compiler: what a change does (changed), how a reviewer sees
it (pr_summary), and the guard that keeps a compile from dropping a live
customer (decommission). Everything here reads generated/ trees, never the
targets' code, so it judges a change by its output."""
