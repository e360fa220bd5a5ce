//! Experiment specs: the TOML format, server expansion and sweep points.
//!
//! A spec names the servers to compare (explicit `[[servers]]` command lines, or the `strategies` shorthand
//! expanding to zedis presets, plus `redis-server` when `redis = true` and it is on PATH), a `[workload]`, the
//! number of alternating `rounds`, and optionally a `[sweep]` over one workload parameter or a list of `[[cases]]`
//! (each a table of workload overrides). See `bench-harness/README.md` for the full format.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Eviction policies `redis-server` 7.0 knows; other policy names (e.g. `allkeys-flush`) skip Redis.
pub const REDIS_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Flags every default server command line gets; `{maxmemory}` and `{policy}` are filled per trial.
const COMMON_ARGS: &str =
    "--port {port} --bind 127.0.0.1 --save '' --appendonly no --maxmemory {maxmemory} --maxmemory-policy {policy}";

/// A spec file as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Experiment name: names the results directory.
    pub name: String,
    /// What question the experiment answers (copied into the report).
    #[serde(default)]
    pub description: String,
    /// How many alternating rounds over all servers; medians and spreads are over rounds.
    #[serde(default = "default_rounds")]
    pub rounds: usize,
    /// Zedis presets: `zedis`, `system`, `matrix` (all 8 per-part combinations), `kv=pool,request=heap,...`
    /// (any subset of the parts), or raw flags starting with `--`.
    #[serde(default)]
    pub strategies: Vec<String>,
    /// Also run `redis-server` (when on PATH) as the baseline.
    #[serde(default)]
    pub redis: bool,
    /// Crosses every server with these maxmemory policies (Redis skips the ones it lacks).
    #[serde(default)]
    pub policies: Vec<String>,
    /// Appended to every default (strategy and Redis) command line.
    #[serde(default)]
    pub extra_args: String,
    /// Explicit servers.
    #[serde(default)]
    pub servers: Vec<ServerSpec>,
    /// Workload parameters shared by every point (a table so that points can override any key).
    #[serde(default)]
    pub workload: toml::Table,
    /// A sweep over one workload parameter (numeric values give line plots against the value).
    pub sweep: Option<Sweep>,
    /// Named workload override tables; each must have a `label`.
    #[serde(default)]
    pub cases: Vec<toml::Table>,
}

fn default_rounds() -> usize {
    3
}

/// One explicit server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Short name used in tables and plots.
    pub label: String,
    /// Command line; placeholders `{port}`, `{zedis}`, `{maxmemory}`, `{policy}`. Single and double quotes group.
    pub command: String,
    /// Is this the baseline the ratios are taken against (default: label starts with `redis`).
    #[serde(default)]
    pub baseline: Option<bool>,
    /// Maxmemory policy for `{policy}` (default: the workload's `policy`).
    #[serde(default)]
    pub policy: Option<String>,
}

/// A sweep over one workload parameter.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Workload key to vary, e.g. `budget_fraction` or `pipeline`.
    pub param: String,
    /// Values it takes.
    pub values: Vec<toml::Value>,
}

/// A server ready to launch: label and command template.
#[derive(Debug, Clone, Serialize)]
pub struct ServerPlan {
    /// Short name.
    pub label: String,
    /// Command template (placeholders unfilled).
    pub command: String,
    /// Ratios are taken against the baseline server.
    pub baseline: bool,
    /// Policy override for `{policy}`.
    pub policy: Option<String>,
}

/// One workload configuration every server runs.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Label in tables (`param=value`, the case label, or `default`).
    pub label: String,
    /// Numeric sweep value, for line plots.
    pub x: Option<f64>,
    /// The workload table with this point's overrides applied.
    pub workload: toml::Table,
}

impl Spec {
    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<Spec> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Spec::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses and checks spec text.
    pub fn parse(text: &str) -> Result<Spec> {
        let spec: Spec = toml::from_str(text)?;
        if spec.rounds == 0 {
            bail!("rounds must be at least 1");
        }
        if spec.sweep.is_some() && !spec.cases.is_empty() {
            bail!("use either [sweep] or [[cases]], not both");
        }
        for point in spec.points()? {
            crate::workload::Workload::from_table(&point.workload)
                .with_context(|| format!("workload of point {}", point.label))?;
        }
        Ok(spec)
    }

    /// The workload points, in order.
    pub fn points(&self) -> Result<Vec<Point>> {
        if let Some(sweep) = &self.sweep {
            return Ok(sweep
                .values
                .iter()
                .map(|value| {
                    let mut workload = self.workload.clone();
                    workload.insert(sweep.param.clone(), value.clone());
                    let x = value.as_float().or(value.as_integer().map(|i| i as f64));
                    let shown = value
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| value.to_string());
                    Point {
                        label: format!("{}={}", sweep.param, shown),
                        x,
                        workload,
                    }
                })
                .collect());
        }
        if self.cases.is_empty() {
            return Ok(vec![Point {
                label: "default".into(),
                x: None,
                workload: self.workload.clone(),
            }]);
        }
        self.cases
            .iter()
            .map(|case| {
                let mut case = case.clone();
                let label = match case.remove("label") {
                    Some(toml::Value::String(label)) => label,
                    _ => bail!("every [[cases]] entry needs a string `label`"),
                };
                let mut workload = self.workload.clone();
                workload.extend(case);
                Ok(Point {
                    label,
                    x: None,
                    workload,
                })
            })
            .collect()
    }

    /// Every server to run: explicit ones, then strategies, then Redis (if wanted and on PATH), crossed with
    /// `policies`.
    pub fn servers(&self, redis_on_path: bool) -> Result<Vec<ServerPlan>> {
        let mut bases: Vec<ServerPlan> = self
            .servers
            .iter()
            .map(|s| ServerPlan {
                label: s.label.clone(),
                command: s.command.clone(),
                baseline: s.baseline.unwrap_or_else(|| s.label.starts_with("redis")),
                policy: s.policy.clone(),
            })
            .collect();
        for strategy in &self.strategies {
            for (label, flags) in expand_strategy(strategy)? {
                let command = format!("{{zedis}} {COMMON_ARGS} {flags} {}", self.extra_args);
                bases.push(ServerPlan {
                    label,
                    command,
                    baseline: false,
                    policy: None,
                });
            }
        }
        if self.redis && redis_on_path {
            let command = format!("redis-server {COMMON_ARGS} {}", self.extra_args);
            bases.push(ServerPlan {
                label: "redis".into(),
                command,
                baseline: true,
                policy: None,
            });
        }
        if self.policies.is_empty() {
            return Ok(bases);
        }
        let mut crossed = Vec::new();
        for base in &bases {
            for policy in &self.policies {
                if base.baseline && !REDIS_POLICIES.contains(&policy.as_str()) {
                    continue;
                }
                let mut plan = base.clone();
                plan.label = format!("{}/{policy}", base.label);
                plan.policy = Some(policy.clone());
                crossed.push(plan);
            }
        }
        Ok(crossed)
    }
}

/// Expands one `strategies` entry to `(label, flags)` pairs.
pub fn expand_strategy(strategy: &str) -> Result<Vec<(String, String)>> {
    let strategy = strategy.trim();
    if strategy.starts_with("--") {
        return Ok(vec![(strategy.to_owned(), strategy.to_owned())]);
    }
    match strategy {
        "zedis" => return Ok(vec![("zedis".into(), "--allocator zedis".into())]),
        "system" => return Ok(vec![("zedis-system".into(), "--allocator system".into())]),
        "segment" => {
            return Ok(vec![(
                "zedis-segment".into(),
                "--allocator zedis --kv-allocator segment".into(),
            )])
        }
        "matrix" => {
            let mut all = Vec::new();
            for kv in ["pool", "system"] {
                for request in ["arena", "heap"] {
                    for client in ["pool", "heap"] {
                        all.extend(expand_strategy(&format!(
                            "kv={kv},request={request},client={client}"
                        ))?);
                    }
                }
            }
            return Ok(all);
        }
        _ => {}
    }
    let mut flags = Vec::new();
    for part in strategy.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            bail!("unknown strategy {strategy:?} (want zedis, system, segment, matrix, kv=..,request=..,client=.. or --flags)");
        };
        let allowed: &[&str] = match name {
            "kv" => &["pool", "system", "segment"],
            "request" => &["arena", "heap"],
            "client" => &["pool", "heap"],
            _ => bail!("unknown allocator part {name:?} in {strategy:?} (kv, request, client)"),
        };
        if !allowed.contains(&value) {
            bail!("{name} allocator must be one of {allowed:?}, not {value:?}");
        }
        flags.push(format!("--{name}-allocator {value}"));
    }
    Ok(vec![(format!("zedis[{strategy}]"), flags.join(" "))])
}

/// Splits a command line on whitespace; single and double quotes group (and `''` is an empty argument).
pub fn split_command(line: &str) -> Result<Vec<String>> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_arg = true;
            }
            None if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            None => {
                current.push(c);
                in_arg = true;
            }
        }
    }
    if quote.is_some() {
        bail!("unbalanced quotes in {line:?}");
    }
    if in_arg {
        args.push(current);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_handles_empty_quotes() {
        let args = split_command("redis-server --save '' --x \"a b\"  c").unwrap();
        assert_eq!(args, ["redis-server", "--save", "", "--x", "a b", "c"]);
        assert!(split_command("a 'b").is_err());
    }

    #[test]
    fn strategies_expand() {
        assert_eq!(expand_strategy("matrix").unwrap().len(), 8);
        let (label, flags) = expand_strategy("client=heap").unwrap().remove(0);
        assert_eq!(label, "zedis[client=heap]");
        assert_eq!(flags, "--client-allocator heap");
        assert!(expand_strategy("kv=arena").is_err());
        assert!(expand_strategy("bogus").is_err());
    }

    #[test]
    fn policies_cross_and_skip_redis() {
        let spec = Spec::parse(
            "name='x'\nstrategies=['zedis']\nredis=true\npolicies=['allkeys-lru','allkeys-flush']\n",
        )
        .unwrap();
        let labels: Vec<_> = spec
            .servers(true)
            .unwrap()
            .into_iter()
            .map(|s| s.label)
            .collect();
        assert_eq!(
            labels,
            [
                "zedis/allkeys-lru",
                "zedis/allkeys-flush",
                "redis/allkeys-lru"
            ]
        );
        assert_eq!(spec.servers(false).unwrap().len(), 2);
    }

    #[test]
    fn sweep_and_cases_make_points() {
        let spec = Spec::parse(
            "name='x'\n[workload]\nkeys=10\n[sweep]\nparam='pipeline'\nvalues=[1,16]\n",
        )
        .unwrap();
        let points = spec.points().unwrap();
        assert_eq!(points[1].label, "pipeline=16");
        assert_eq!(points[1].x, Some(16.0));
        let spec = Spec::parse("name='x'\n[[cases]]\nlabel='a'\nkind='pubsub'\n").unwrap();
        assert_eq!(
            spec.points().unwrap()[0].workload["kind"].as_str(),
            Some("pubsub")
        );
        assert!(Spec::parse("name='x'\n[[cases]]\nkind='pubsub'\n").is_err());
        assert!(Spec::parse("name='x'\n[workload]\nbogus=1\n").is_err());
    }
}
