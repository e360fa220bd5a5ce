//! Feeds arbitrary bytes to the request parser, whole and in growing prefixes (as the server does), and checks
//! that both agree and that every span lies inside the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zedis_resp::{ParserLimits, RequestParser};

fn run(input: &[u8], step: usize, authenticated: bool) -> Vec<Result<Vec<Vec<u8>>, zedis_resp::ProtocolError>> {
    let limits = ParserLimits { inline_bytes_max: 1 << 20, ..ParserLimits::default() };
    let mut parser = RequestParser::new(limits);
    parser.set_authenticated(authenticated);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    while fed < input.len() {
        let end = (fed + step).min(input.len());
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(consumed)) => {
                    assert!(consumed <= buf.len());
                    let args = parser.args().iter().map(|span| buf[span.clone()].to_vec()).collect();
                    out.push(Ok(args));
                    buf.drain(..consumed);
                }
                Ok(None) => break,
                Err(error) => {
                    let _ = error.reply_bytes();
                    out.push(Err(error));
                    return out;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, input)) = data.split_first() else { return };
    let authenticated = flags & 1 == 0;
    let step = usize::from(flags >> 1).max(1);
    let whole = run(input, input.len().max(1), authenticated);
    let pieces = run(input, step, authenticated);
    assert_eq!(whole, pieces);
});
