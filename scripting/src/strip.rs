//! Strips the debug information (line numbers, local and upvalue names) from a Lua 5.1 binary chunk, as
//! `luac -s` does: the prelude's functions stay in every Lua state for its whole life, and their debug
//! information is about a third of their size. Lua 5.1's `lua_dump` cannot strip by itself.
//!
//! Only our own prelude goes through here (user scripts are never loaded as bytecode).

/// Why a chunk could not be stripped (the caller then loads the prelude from source).
#[derive(Debug, thiserror::Error)]
#[error("malformed Lua 5.1 chunk at byte {0}")]
pub(crate) struct StripError(usize);

/// Reads a chunk and writes its stripped copy.
struct Stripper<'a> {
    src: &'a [u8],
    pos: usize,
    out: Vec<u8>,
    int_bytes: usize,
    size_t_bytes: usize,
    instruction_bytes: usize,
    number_bytes: usize,
}

/// Lua 5.1's header length: signature, version, format, endianness and the sizes of int, size_t,
/// Instruction and lua_Number, then the integral flag.
const HEADER_LEN: usize = 12;

/// Returns `chunk` (the output of `lua_dump` on Lua 5.1) without its debug information.
pub(crate) fn strip(chunk: &[u8]) -> Result<Vec<u8>, StripError> {
    if chunk.len() < HEADER_LEN || &chunk[..5] != b"\x1bLua\x51" || chunk[6] != 1 {
        return Err(StripError(0));
    }
    let mut s = Stripper {
        src: chunk,
        pos: HEADER_LEN,
        out: chunk[..HEADER_LEN].to_vec(),
        int_bytes: usize::from(chunk[7]),
        size_t_bytes: usize::from(chunk[8]),
        instruction_bytes: usize::from(chunk[9]),
        number_bytes: usize::from(chunk[10]),
    };
    if s.int_bytes != 4 || s.size_t_bytes > 8 || s.instruction_bytes != 4 {
        return Err(StripError(7));
    }
    s.function(true)?;
    if s.pos != chunk.len() {
        return Err(StripError(s.pos));
    }
    Ok(s.out)
}

impl Stripper<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], StripError> {
        let end = self.pos.checked_add(n).ok_or(StripError(self.pos))?;
        let bytes = self.src.get(self.pos..end).ok_or(StripError(self.pos))?;
        self.pos = end;
        Ok(bytes)
    }

    fn copy(&mut self, n: usize) -> Result<(), StripError> {
        let start = self.pos;
        self.take(n)?;
        self.out.extend_from_slice(&self.src[start..self.pos]);
        Ok(())
    }

    fn read_int(&mut self) -> Result<usize, StripError> {
        let at = self.pos;
        let bytes: [u8; 4] = self.take(4)?.try_into().map_err(|_| StripError(at))?;
        usize::try_from(i32::from_le_bytes(bytes)).map_err(|_| StripError(at))
    }

    fn read_size_t(&mut self) -> Result<usize, StripError> {
        let at = self.pos;
        let n = self.size_t_bytes;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(self.take(n)?);
        usize::try_from(u64::from_le_bytes(buf)).map_err(|_| StripError(at))
    }

    /// Copies an int count and returns it.
    fn copy_int(&mut self) -> Result<usize, StripError> {
        let n = self.read_int()?;
        self.out.extend_from_slice(&(n as i32).to_le_bytes());
        Ok(n)
    }

    fn copy_string(&mut self) -> Result<(), StripError> {
        let start = self.pos;
        let len = self.read_size_t()?;
        self.take(len)?;
        self.out.extend_from_slice(&self.src[start..self.pos]);
        Ok(())
    }

    fn skip_string(&mut self) -> Result<(), StripError> {
        let len = self.read_size_t()?;
        self.take(len).map(|_| ())
    }

    fn function(&mut self, top: bool) -> Result<(), StripError> {
        if top {
            self.copy_string()?;
        } else {
            // Nested functions inherit the top-level source name when theirs is absent.
            self.skip_string()?;
            self.out.extend(std::iter::repeat_n(0, self.size_t_bytes));
        }
        // linedefined, lastlinedefined, nups, numparams, is_vararg, maxstacksize.
        self.copy(2 * self.int_bytes + 4)?;
        let code = self.copy_int()?;
        self.copy(code * self.instruction_bytes)?;
        let constants = self.copy_int()?;
        for _ in 0..constants {
            let kind = self.take(1)?[0];
            self.out.push(kind);
            match kind {
                0 => {}
                1 => self.copy(1)?,
                3 => self.copy(self.number_bytes)?,
                4 => self.copy_string()?,
                _ => return Err(StripError(self.pos)),
            }
        }
        let protos = self.copy_int()?;
        for _ in 0..protos {
            self.function(false)?;
        }
        // Debug information: line info, local variables, upvalue names, all dropped.
        let lines = self.read_int()?;
        self.take(lines * self.int_bytes)?;
        let locals = self.read_int()?;
        for _ in 0..locals {
            self.skip_string()?;
            self.take(2 * self.int_bytes)?;
        }
        let upvalues = self.read_int()?;
        for _ in 0..upvalues {
            self.skip_string()?;
        }
        self.out.extend(std::iter::repeat_n(0, 3 * self.int_bytes));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::{ChunkMode, Function, Lua};

    #[test]
    fn stripped_chunks_run_and_are_smaller() {
        // SAFETY: binary chunks are only loaded from our own dump.
        let lua = unsafe { Lua::unsafe_new() };
        let f: Function = lua
            .load("local function add(a, b) return a + b end\nlocal t = {1, 'x', true, nil, 2.5}\nreturn add(t[1], 41), t[2]")
            .set_name("=test")
            .into_function()
            .unwrap();
        let full = f.dump(false);
        let stripped = strip(&full).unwrap();
        assert!(stripped.len() < full.len());
        let g: Function = lua
            .load(&stripped[..])
            .set_mode(ChunkMode::Binary)
            .set_name("=test")
            .into_function()
            .unwrap();
        let (n, s): (i64, String) = g.call(()).unwrap();
        assert_eq!((n, s.as_str()), (42, "x"));
    }

    #[test]
    fn malformed_chunks_are_refused() {
        assert!(strip(b"").is_err());
        assert!(strip(b"return 1").is_err());
        // SAFETY: binary chunks are only loaded from our own dump.
        let lua = unsafe { Lua::unsafe_new() };
        let f: Function = lua.load("return 1").into_function().unwrap();
        let full = f.dump(false);
        for cut in [13, full.len() / 2, full.len() - 1] {
            assert!(strip(&full[..cut]).is_err(), "cut at {cut}");
        }
    }
}
