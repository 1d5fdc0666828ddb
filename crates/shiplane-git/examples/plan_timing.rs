//! Times the planning hot path without the CLI: open, resolve, list both trees, plan.
//!
//! `cargo run --release -p shiplane-git --example plan_timing -- REPO SPEC.tsv [BASE] [HEAD] [RUNS]`
//! where SPEC.tsv is the `*.plan-spec.tsv` written by `bench/gen-monorepo.py`. Prints the
//! median of each phase over RUNS runs (default 20) and the affected services.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark driver: failing loudly is the point"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use shiplane_git::Repo;
use shiplane_plan::{Base, PlanSpec, ServiceSpec, plan};

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let repo_dir = Path::new(&args[1]);
    let spec = spec_from_tsv(&std::fs::read_to_string(&args[2]).unwrap());
    let base_rev = args.get(3).map_or("HEAD~1", String::as_str);
    let head_rev = args.get(4).map_or("HEAD", String::as_str);
    let runs: usize = args.get(5).map_or(20, |r| r.parse().unwrap());
    let (mut open, mut list, mut planning, mut total) = (vec![], vec![], vec![], vec![]);
    let mut affected = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let repo = Repo::discover(repo_dir).unwrap();
        let (head, base) = (
            repo.resolve(head_rev).unwrap(),
            repo.resolve(base_rev).unwrap(),
        );
        let t1 = Instant::now();
        let mut listings = repo.tree_listings(&[head, base]).unwrap();
        let base_listing = listings.pop().unwrap();
        let head_listing = listings.pop().unwrap();
        let t2 = Instant::now();
        let p = plan(
            &spec,
            &head_listing,
            Some(Base {
                listing: &base_listing,
                spec: None,
            }),
            None,
        )
        .unwrap();
        let t3 = Instant::now();
        open.push(t1 - t0);
        list.push(t2 - t1);
        planning.push(t3 - t2);
        total.push(t3 - t0);
        affected = p.affected.iter().map(|a| a.service.clone()).collect();
        if runs == 1 {
            eprintln!("files: {} (head)", head_listing.len());
        }
    }
    println!(
        "median of {runs}: open+resolve {:?}, list 2 trees {:?}, plan {:?}, total {:?}",
        median(open),
        median(list),
        median(planning),
        median(total)
    );
    println!("affected {}: {}", affected.len(), affected.join(" "));
}
