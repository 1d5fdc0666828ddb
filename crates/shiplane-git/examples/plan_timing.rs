//! Times the planning hot path without the CLI: open, resolve, list head, diff the base
//! against it, compile the spec, plan (and, apart, the matcher and the hashing alone).
//!
//! `cargo run --release -p shiplane-git --example plan_timing -- REPO SPEC.tsv [BASE] [HEAD] [RUNS]`
//! where SPEC.tsv is the `*.plan-spec.tsv` written by `bench/gen-monorepo.py`. Prints the
//! median of each phase over RUNS runs (default 20) and the affected services.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark driver: failing loudly is the point"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use shiplane_git::Repo;
use shiplane_plan::{
    BaseDiff, CompiledSpec, GroupDigests, PlanSpec, ServiceSpec, plan_diff_compiled,
};

/// Reads the `*.plan-spec.tsv` that `bench/gen-monorepo.py` writes (no JSON parser needed).
fn spec_from_tsv(text: &str) -> PlanSpec {
    let list = |s: Option<&str>| -> Vec<String> {
        s.unwrap_or_default()
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut spec = PlanSpec::default();
    for line in text.lines() {
        let mut f = line.split('\t');
        match (f.next(), f.next()) {
            (Some("shared"), Some(g)) => spec.shared.push(g.to_owned()),
            (Some("ignore"), Some(g)) => spec.ignore.push(g.to_owned()),
            (Some("library"), Some(name)) => {
                spec.libraries.insert(name.to_owned(), list(f.next()));
            }
            (Some("service"), Some(name)) => {
                let service = ServiceSpec {
                    paths: list(f.next()),
                    libraries: list(f.next()),
                    services: list(f.next()),
                    intent_hash: "bench".to_owned(),
                    ..ServiceSpec::default()
                };
                spec.services.insert(name.to_owned(), service);
            }
            _ => panic!("bad spec line: {line}"),
        }
    }
    spec
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Named phase timings collected over several runs.
#[derive(Default)]
struct Phases(Vec<(&'static str, Vec<Duration>)>);

impl Phases {
    fn add(&mut self, name: &'static str, d: Duration) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(d),
            None => self.0.push((name, vec![d])),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let repo_dir = Path::new(&args[1]);
    let spec = spec_from_tsv(&std::fs::read_to_string(&args[2]).unwrap());
    let base_rev = args.get(3).map_or("HEAD~1", String::as_str);
    let head_rev = args.get(4).map_or("HEAD", String::as_str);
    let runs: usize = args.get(5).map_or(20, |r| r.parse().unwrap());
    let mut phases = Phases::default();
    let mut affected = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let repo = Repo::discover(repo_dir).unwrap();
        let (head, base) = (
            repo.resolve(head_rev).unwrap(),
            repo.resolve(base_rev).unwrap(),
        );
        phases.add("open+resolve", t.elapsed());
        let t = Instant::now();
        let one = repo.tree_listing_on(head, 1).unwrap();
        phases.add("(list head, 1 thread)", t.elapsed());
        drop(one);
        let t = Instant::now();
        let head_listing = repo.tree_listing(head).unwrap();
        phases.add("list head", t.elapsed());
        let t = Instant::now();
        let changes = repo.diff_trees(base, head).unwrap();
        phases.add("diff base..head", t.elapsed());
        let t = Instant::now();
        let compiled = CompiledSpec::new(&spec).unwrap();
        phases.add("compile spec", t.elapsed());
        let t = Instant::now();
        let members = compiled.members(&head_listing);
        phases.add("(members alone)", t.elapsed());
        drop(members);
        let t = Instant::now();
        let digests = GroupDigests::compute(&compiled, &head_listing);
        phases.add("(members+hash alone)", t.elapsed());
        drop(digests);
        let t = Instant::now();
        let p = plan_diff_compiled(
            &spec,
            &compiled,
            &head_listing,
            BaseDiff {
                changes: &changes,
                spec: Some(&spec),
            },
            None,
        )
        .unwrap();
        phases.add("plan (members+hash+decide)", t.elapsed());
        affected = p.affected.iter().map(|a| a.service.clone()).collect();
        if runs == 1 {
            eprintln!(
                "files: {} (head), changed: {}",
                head_listing.len(),
                changes.len()
            );
        }
    }
    let mut line = format!("median of {runs}:");
    for (name, v) in phases.0 {
        let _ = write!(line, " {name} {:.2?},", median(v));
    }
    println!("{}", line.trim_end_matches(','));
    println!("affected {}: {}", affected.len(), affected.join(" "));
}
