//! FUNCTION LOAD / DELETE / FLUSH / LIST / DUMP / RESTORE / STATS and FCALL: the library registry.

use crate::flags::{lossy, split_args, ScriptFlags};
use crate::host::Host;
use crate::vm::{valid_name, Registered, RunRequest, Shared, Vm, VmKind, NAME_ERROR};
use crate::{dump, Limits, RunOptions};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use zedis_resp::{reply, Protocol};

/// How long a library's top-level code may run (Redis's FUNCTION LOAD timeout).
pub const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// A registered function, as FUNCTION LIST shows it.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    /// The name FCALL uses.
    pub name: String,
    /// `description` given to `register_function`.
    pub description: Option<String>,
    /// Declared flags.
    pub flags: ScriptFlags,
}

struct Library {
    code: Vec<u8>,
    /// Each function and its callback, kept in the Lua registry.
    functions: Vec<(FunctionInfo, mlua::RegistryKey)>,
}

/// What RESTORE does with existing libraries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Delete every existing library first.
    Flush,
    /// Add the libraries; abort on any name collision (the default).
    Append,
    /// Add the libraries, replacing existing ones of the same name.
    Replace,
}

/// The functions engine: its own Lua state, the libraries and a function-name index.
pub(crate) struct FunctionEngine {
    vm: Vm,
    libraries: BTreeMap<String, Library>,
    /// Lower-cased function name → its library: function names are case-insensitive (Redis's
    /// `functionDictType`), library names are not.
    index: BTreeMap<String, String>,
    killed: Arc<AtomicBool>,
    shared: Shared,
    heap_bytes_max: usize,
}

impl FunctionEngine {
    pub fn new(limits: &Limits, killed: Arc<AtomicBool>, shared: Shared) -> mlua::Result<Self> {
        Ok(FunctionEngine {
            vm: Vm::new(
                VmKind::Function,
                limits.lua_heap_bytes_max,
                killed.clone(),
                shared.clone(),
            )?,
            libraries: BTreeMap::new(),
            index: BTreeMap::new(),
            killed,
            shared,
            heap_bytes_max: limits.lua_heap_bytes_max,
        })
    }

    pub fn error_counted(&self) -> bool {
        self.vm.error_counted()
    }

    pub fn used_memory_bytes(&self) -> usize {
        self.vm.used_memory_bytes()
    }

    /// FUNCTION LOAD `[REPLACE]`: returns the library name or the full error text (with `ERR`).
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<String, String> {
        let (name, body) = parse_metadata(code).map_err(|e| format!("ERR {e}"))?;
        if self.libraries.contains_key(&name) && !replace {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let lib = self
            .compile(&name, code, body)
            .map_err(|e| format!("ERR {e}"))?;
        for (f, _) in &lib.functions {
            if self
                .index
                .get(&fold(&f.name))
                .is_some_and(|owner| *owner != name)
            {
                return Err(format!("ERR Function {} already exists", f.name));
            }
        }
        self.unlink(&name);
        self.link(name.clone(), lib);
        Ok(name)
    }

    fn compile(&mut self, name: &str, code: &[u8], body: &[u8]) -> Result<Library, String> {
        if !valid_name(name.as_bytes()) {
            return Err(NAME_ERROR.into());
        }
        let chunk = self
            .vm
            .compile("@user_function", body)
            .map_err(|e| format!("Error compiling function: {e}"))?;
        let registered: Vec<Registered> = self.vm.load_library(&chunk, LOAD_TIMEOUT)?;
        if registered.is_empty() {
            return Err("No functions registered".into());
        }
        let mut functions = Vec::with_capacity(registered.len());
        for r in registered {
            let callback = self.vm.register(r.callback)?;
            let info = FunctionInfo {
                name: r.name,
                description: r.description,
                flags: r.flags,
            };
            functions.push((info, callback));
        }
        Ok(Library {
            code: code.to_vec(),
            functions,
        })
    }

    fn link(&mut self, name: String, lib: Library) {
        for (f, _) in &lib.functions {
            self.index.insert(fold(&f.name), name.clone());
        }
        self.libraries.insert(name, lib);
    }

    fn unlink(&mut self, name: &str) -> Option<Library> {
        let lib = self.libraries.remove(name)?;
        for (f, _) in &lib.functions {
            self.index.remove(&fold(&f.name));
        }
        Some(lib)
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, name: &[u8]) -> Result<(), &'static str> {
        self.unlink(&lossy(name))
            .map(|_| ())
            .ok_or("ERR Library not found")
    }

    /// FUNCTION FLUSH: drops every library and starts a fresh Lua state.
    pub fn flush(&mut self) -> mlua::Result<()> {
        self.libraries.clear();
        self.index.clear();
        let limits = Limits {
            lua_heap_bytes_max: self.heap_bytes_max,
        };
        self.vm = Vm::new(
            VmKind::Function,
            limits.lua_heap_bytes_max,
            self.killed.clone(),
            self.shared.clone(),
        )?;
        Ok(())
    }

    /// The flags of a function, for the server's checks before FCALL.
    pub fn flags(&self, name: &[u8]) -> Option<ScriptFlags> {
        let (lib, idx) = self.find(name)?;
        Some(self.libraries[lib].functions[idx].0.flags)
    }

    /// The flags and the registered name of a function FCALL names (any case).
    pub fn lookup(&self, name: &[u8]) -> Option<(ScriptFlags, &str)> {
        let (lib, idx) = self.find(name)?;
        let info = &self.libraries[lib].functions[idx].0;
        Some((info.flags, info.name.as_str()))
    }

    fn find(&self, name: &[u8]) -> Option<(&String, usize)> {
        let lib = self.index.get(&fold(&lossy(name)))?;
        let idx = self.libraries[lib]
            .functions
            .iter()
            .position(|(f, _)| f.name.as_bytes().eq_ignore_ascii_case(name))?;
        Some((lib, idx))
    }

    /// FCALL / FCALL_RO.
    pub fn call(
        &mut self,
        name: &[u8],
        keys: &[&[u8]],
        args: &[&[u8]],
        opts: RunOptions,
        host: &mut dyn Host,
    ) -> Vec<u8> {
        self.vm.reset_error_counted();
        let mut out = Vec::new();
        let Some((lib, idx)) = self.find(name) else {
            reply::error(&mut out, b"ERR Function not found");
            return out;
        };
        let (info, function) = &self.libraries[lib].functions[idx];
        if opts.read_only && !info.flags.has(ScriptFlags::NO_WRITES) {
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
            flags: info.flags,
            compat_mode: false,
            read_only: opts.read_only,
            name: &info.name,
        };
        self.vm.run(function, &req, host)
    }

    /// FUNCTION LIST `[LIBRARYNAME pattern] [WITHCODE]` reply.
    pub fn list_reply(&self, pattern: Option<&[u8]>, with_code: bool, p: Protocol) -> Vec<u8> {
        let libs: Vec<(&String, &Library)> = self
            .libraries
            .iter()
            .filter(|(name, _)| pattern.is_none_or(|pat| glob_match(pat, name.as_bytes())))
            .collect();
        let mut out = Vec::new();
        reply::array_len(&mut out, libs.len());
        for (name, lib) in libs {
            reply::map_len(&mut out, p, if with_code { 4 } else { 3 });
            reply::bulk(&mut out, b"library_name");
            reply::bulk(&mut out, name.as_bytes());
            reply::bulk(&mut out, b"engine");
            reply::bulk(&mut out, b"LUA");
            reply::bulk(&mut out, b"functions");
            reply::array_len(&mut out, lib.functions.len());
            for (f, _) in &lib.functions {
                reply::map_len(&mut out, p, 3);
                reply::bulk(&mut out, b"name");
                reply::bulk(&mut out, f.name.as_bytes());
                reply::bulk(&mut out, b"description");
                match &f.description {
                    Some(d) => reply::bulk(&mut out, d.as_bytes()),
                    None => reply::null(&mut out, p),
                }
                reply::bulk(&mut out, b"flags");
                reply::set_len(&mut out, p, f.flags.names().count());
                for flag in f.flags.names() {
                    reply::simple(&mut out, flag.as_bytes());
                }
            }
            if with_code {
                reply::bulk(&mut out, b"library_code");
                reply::bulk(&mut out, &lib.code);
            }
        }
        out
    }

    /// Library and function counts (FUNCTION STATS `engines` section).
    pub fn counts(&self) -> (usize, usize) {
        (self.libraries.len(), self.index.len())
    }

    /// FUNCTION DUMP payload.
    pub fn dump(&self) -> Vec<u8> {
        dump::encode(self.libraries.values().map(|l| l.code.as_slice()))
    }

    /// FUNCTION RESTORE: all or nothing.
    pub fn restore(&mut self, payload: &[u8], policy: RestorePolicy) -> Result<(), String> {
        let codes = dump::decode(payload)?;
        let mut fresh: Vec<(String, Library)> = Vec::new();
        for code in &codes {
            let (name, body) = parse_metadata(code).map_err(|e| format!("ERR {e}"))?;
            if fresh.iter().any(|(n, _)| *n == name) {
                return Err(format!("ERR Library {name} already exists"));
            }
            let lib = self
                .compile(&name, code, body)
                .map_err(|e| format!("ERR {e}"))?;
            fresh.push((name, lib));
        }
        if policy == RestorePolicy::Flush {
            self.libraries.clear();
            self.index.clear();
        }
        for (name, _) in &fresh {
            if policy == RestorePolicy::Append && self.libraries.contains_key(name) {
                return Err(format!("ERR Library {name} already exists"));
            }
        }
        let replaced: Vec<&String> = fresh.iter().map(|(n, _)| n).collect();
        for (name, lib) in &fresh {
            for (f, _) in &lib.functions {
                if let Some(owner) = self.index.get(&fold(&f.name)) {
                    if !(policy == RestorePolicy::Replace && replaced.contains(&owner)) {
                        return Err(format!("ERR Function {} already exists", f.name));
                    }
                }
            }
            let _ = name;
        }
        for (name, lib) in fresh {
            self.unlink(&name);
            self.link(name, lib);
        }
        Ok(())
    }
}

/// The index key of a function name (ASCII lower case, as Redis's `dictSdsCaseHash`).
fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Parses `#!<engine> name=<lib>` as Redis's `functionExtractLibMetaData`: (library name, code after the
/// shebang line, keeping its `\n`).
pub(crate) fn parse_metadata(code: &[u8]) -> Result<(String, &[u8]), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let end = code
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("Invalid library metadata")?;
    let parts = split_args(&code[..end])
        .filter(|p| !p.is_empty())
        .ok_or("Invalid library metadata")?;
    let engine = &parts[0][2..];
    let mut name: Option<Vec<u8>> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", lossy(part)));
    }
    let name = name.ok_or("Library name was not given")?;
    if !valid_name(&name) {
        return Err(NAME_ERROR.into());
    }
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!("Engine '{}' not found", lossy(engine)));
    }
    Ok((lossy(&name), &code[end..]))
}

/// Redis's `stringmatchlen` glob (`*`, `?`, `[...]`, `\`), case-sensitive.
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    match pattern.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob_match(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob_match(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some((&c, tail)) = s.split_first() else {
                return false;
            };
            let (negate, mut body) = match rest.split_first() {
                Some((b'^', b)) => (true, b),
                _ => (false, rest),
            };
            let mut matched = false;
            loop {
                match body {
                    [] => break,
                    [b']', ..] => {
                        body = &body[1..];
                        break;
                    }
                    [b'\\', x, more @ ..] => {
                        matched |= *x == c;
                        body = more;
                    }
                    [a, b'-', z, more @ ..] if *z != b']' => {
                        let (lo, hi) = if a <= z { (*a, *z) } else { (*z, *a) };
                        matched |= (lo..=hi).contains(&c);
                        body = more;
                    }
                    [x, more @ ..] => {
                        matched |= *x == c;
                        body = more;
                    }
                }
            }
            matched != negate && glob_match(body, tail)
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            s.first() == Some(&rest[0]) && glob_match(&rest[1..], &s[1..])
        }
        Some((c, rest)) => s.first() == Some(c) && glob_match(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_errors() {
        assert_eq!(
            parse_metadata(b"return 1").unwrap_err(),
            "Missing library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua name=x").unwrap_err(),
            "Invalid library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua\n").unwrap_err(),
            "Library name was not given"
        );
        assert_eq!(
            parse_metadata(b"#!lua foo=1\n").unwrap_err(),
            "Invalid metadata value given: foo=1"
        );
        assert_eq!(
            parse_metadata(b"#!js name=a\n").unwrap_err(),
            "Engine 'js' not found"
        );
        assert_eq!(
            parse_metadata(b"#!lua name=a\nx").unwrap(),
            ("a".to_string(), &b"\nx"[..])
        );
    }

    #[test]
    fn glob() {
        assert!(glob_match(b"li*", b"lib1"));
        assert!(glob_match(b"l?b[0-9]", b"lib1"));
        assert!(!glob_match(b"l?b[^0-9]", b"lib1"));
        assert!(!glob_match(b"x*", b"lib"));
    }
}
