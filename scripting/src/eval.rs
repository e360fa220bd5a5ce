//! EVAL, EVALSHA and the SCRIPT cache.

use crate::flags::{parse_eval_shebang, ScriptFlags};
use crate::host::Host;
use crate::vm::{sha1_hex, RunRequest, Shared, Vm, VmKind};
use crate::Limits;
use mlua::RegistryKey;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use zedis_resp::reply;

/// A cached script.
struct Script {
    /// The compiled chunk, kept in the Lua registry.
    function: RegistryKey,
    flags: ScriptFlags,
    compat_mode: bool,
}

/// The EVAL engine: one Lua state and the SHA1 → script cache.
pub(crate) struct EvalEngine {
    vm: Vm,
    /// Lower-case SHA1 → script (hashbrown's default hasher: randomly seeded, far cheaper than SipHash
    /// on a 40-byte key looked up twice per EVALSHA).
    scripts: hashbrown::HashMap<String, Script>,
    scripts_bytes: usize,
}

/// Redis's NOSCRIPT error.
pub const NOSCRIPT: &[u8] = b"NOSCRIPT No matching script. Please use EVAL.";

impl EvalEngine {
    pub fn new(limits: &Limits, killed: Arc<AtomicBool>, busy: Shared) -> mlua::Result<Self> {
        Ok(EvalEngine {
            vm: Vm::new(VmKind::Eval, limits.lua_heap_bytes_max, killed, busy)?,
            scripts: hashbrown::HashMap::new(),
            scripts_bytes: 0,
        })
    }

    /// SCRIPT LOAD / the first EVAL of a body: compiles and caches it, returning its SHA1 or the error
    /// message (with its `ERR` code).
    pub fn load(&mut self, body: &[u8]) -> Result<String, String> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let shebang = parse_eval_shebang(body).map_err(|e| format!("ERR {e}"))?;
        let function = self
            .vm
            .compile("@user_script", &body[shebang.len..])
            .map_err(|e| format!("ERR Error compiling script (new function): {e}"))?;
        let function = self.vm.register(function).map_err(|e| format!("ERR {e}"))?;
        self.scripts_bytes += body.len() + sha.len();
        self.scripts.insert(
            sha.clone(),
            Script {
                function,
                flags: shebang.flags,
                compat_mode: shebang.compat_mode,
            },
        );
        Ok(sha)
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha).is_ok_and(|s| self.scripts.contains_key(&s.to_ascii_lowercase()))
    }

    /// The flags of a cached script (lower-case SHA1) and whether it runs in compatibility mode.
    pub fn flags(&self, sha: &str) -> Option<(ScriptFlags, bool)> {
        self.scripts.get(sha).map(|s| (s.flags, s.compat_mode))
    }

    pub fn error_counted(&self) -> bool {
        self.vm.error_counted()
    }

    pub fn used_memory_bytes(&self) -> usize {
        self.vm.used_memory_bytes()
    }

    pub fn cache_bytes(&self) -> usize {
        self.scripts_bytes
    }

    pub fn count(&self) -> usize {
        self.scripts.len()
    }

    /// Runs a cached script.
    pub fn run(
        &mut self,
        sha: &str,
        keys: &[&[u8]],
        args: &[&[u8]],
        opts: crate::RunOptions,
        host: &mut dyn Host,
    ) -> Vec<u8> {
        self.vm.reset_error_counted();
        let mut out = Vec::new();
        let Some(script) = self.scripts.get(sha) else {
            reply::error(&mut out, NOSCRIPT);
            return out;
        };
        if opts.read_only && !script.compat_mode && !script.flags.has(ScriptFlags::NO_WRITES) {
            reply::error(
                &mut out,
                b"ERR Can not execute a script with write flag using *_ro command.",
            );
            return out;
        }
        let req = RunRequest {
            keys,
            args,
            protocol: opts.protocol,
            flags: script.flags,
            compat_mode: script.compat_mode,
            read_only: opts.read_only,
            name: sha,
        };
        self.vm.run(&script.function, &req, host)
    }
}

/// A SHA1 argument lower-cased on the stack (no allocation per EVALSHA).
pub(crate) struct ShaKey([u8; 40]);

impl ShaKey {
    /// The key as the cache's text.
    pub fn as_str(&self) -> &str {
        // Built only from valid UTF-8 (checked in `normalize_sha`); ASCII lower-casing keeps it so.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Lower-cases a 40-byte SHA1 argument; `None` when it cannot name a cached script (wrong length, or
/// not UTF-8: cached names are hex).
pub(crate) fn normalize_sha(sha: &[u8]) -> Option<ShaKey> {
    let mut key: [u8; 40] = sha.try_into().ok()?;
    std::str::from_utf8(&key).ok()?;
    key.make_ascii_lowercase();
    Some(ShaKey(key))
}
