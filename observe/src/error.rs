//! The crate's error type: refusals whose `Display` text is Redis's error reply, byte for byte.

/// A command argument refused by one of this crate's engines. `to_string()` is the reply text Redis 7.0 sends
/// (error code included), ready for `zedis_resp::reply::error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObserveError {
    /// SLOWLOG GET with a count that is not an integer or below -1.
    #[error("ERR count should be greater than or equal to -1")]
    SlowlogCount,
    /// LATENCY GRAPH for an event without samples.
    #[error("ERR No samples available for event '{0}'")]
    NoSamples(String),
    /// A syntax error (Redis's `shared.syntaxerr`).
    #[error("ERR syntax error")]
    Syntax,
    /// CLIENT TRACKING ... REDIRECT given twice.
    #[error("ERR A client can only redirect to a single other client")]
    RedirectTwice,
    /// CLIENT TRACKING ... REDIRECT with an argument that is not an integer.
    #[error("ERR value is not an integer or out of range")]
    NotAnInteger,
    /// CLIENT TRACKING ... REDIRECT to a client that does not exist.
    #[error("ERR The client ID you want redirect to does not exist")]
    RedirectMissing,
    /// PREFIX without BCAST.
    #[error("ERR PREFIX option requires BCAST mode to be enabled")]
    PrefixNeedsBcast,
    /// Switching BCAST while tracking is on.
    #[error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")]
    BcastSwitch,
    /// OPTIN/OPTOUT together with BCAST.
    #[error("ERR OPTIN and OPTOUT are not compatible with BCAST")]
    OptWithBcast,
    /// OPTIN and OPTOUT together.
    #[error("ERR You can't specify both OPTIN mode and OPTOUT mode")]
    OptinAndOptout,
    /// Switching OPTIN/OPTOUT while tracking is on.
    #[error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")]
    OptSwitch,
    /// CLIENT CACHING without tracking on.
    #[error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")]
    CachingNeedsTracking,
    /// CLIENT CACHING YES outside OPTIN mode.
    #[error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")]
    CachingYesNeedsOptin,
    /// CLIENT CACHING NO outside OPTOUT mode.
    #[error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")]
    CachingNoNeedsOptout,
    /// A new BCAST prefix overlapping one the client already has.
    #[error("ERR Prefix '{new}' overlaps with an existing prefix '{existing}'. Prefixes for a single client must not overlap.")]
    PrefixOverlapsExisting {
        /// The prefix asked for (lossy UTF-8, as Redis prints bytes with `%s`).
        new: String,
        /// The client's prefix it overlaps.
        existing: String,
    },
    /// Two prefixes of one CLIENT TRACKING call overlapping each other.
    #[error("ERR Prefix '{first}' overlaps with another provided prefix '{second}'. Prefixes for a single client must not overlap.")]
    PrefixOverlapsProvided {
        /// The earlier prefix.
        first: String,
        /// The later prefix.
        second: String,
    },
    /// `getPositiveLongFromObjectOrReply` refusing an argument.
    #[error("ERR value is out of range, must be positive")]
    MustBePositive,
    /// Redis's `addReplySubcommandSyntaxError`: an unknown subcommand, or a known one with the wrong number of
    /// arguments. `subcommand` is already as Redis prints it (`%.128s` of the C string, CR/LF as spaces);
    /// [`ObserveError::reply_text`] keeps its bytes, `Display` shows them as lossy UTF-8.
    #[error("ERR unknown subcommand or wrong number of arguments for '{}'. Try {command} HELP.", String::from_utf8_lossy(.subcommand))]
    SubcommandSyntax {
        /// The command name, upper-cased.
        command: String,
        /// The subcommand's bytes as printed.
        subcommand: Vec<u8>,
    },
    /// A command called with too few arguments (the command table's arity check).
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// DEBUG RELOAD with an option other than MERGE/NOFLUSH/NOSAVE.
    #[error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")]
    ReloadOption,
    /// DEBUG QUICKLIST-PACKED-THRESHOLD with a bad size.
    #[error("ERR argument must be a memory value bigger than 1 and smaller than 4gb")]
    PackedThreshold,
    /// DEBUG PROTOCOL with an unknown type name.
    #[error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")]
    ProtocolType,
    /// DEBUG PROTOCOL PUSH from a RESP2 client.
    #[error("ERR RESP2 is not supported by this command")]
    Resp2NotSupported,
    /// A protected command (DEBUG, MODULE) refused by `enable-debug-command`/`enable-module-command`.
    #[error("ERR {command} command not allowed. If the {option} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")]
    ProtectedNotAllowed {
        /// `DEBUG` or `MODULE`.
        command: &'static str,
        /// `enable-debug-command` or `enable-module-command`.
        option: &'static str,
    },
    /// A DEBUG subcommand Redis has that Zedis does not carry out (crashes, jemalloc tuning, ...); the name as
    /// the client sent it, lower-cased.
    #[error("ERR DEBUG {0} is not supported by Zedis")]
    DebugUnsupported(String),
    /// LOLWUT asked for art larger than Zedis renders ([`crate::lolwut::CANVAS_PIXELS_MAX`]).
    #[error("ERR LOLWUT canvas too large")]
    LolwutTooLarge,
}

impl ObserveError {
    /// The error line as Redis sends it, without `-` and CRLF (client bytes kept as they came).
    pub fn reply_text(&self) -> Vec<u8> {
        match self {
            ObserveError::SubcommandSyntax {
                command,
                subcommand,
            } => {
                let mut text =
                    b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
                text.extend_from_slice(subcommand);
                text.extend_from_slice(format!("'. Try {command} HELP.").as_bytes());
                text
            }
            other => other.to_string().into_bytes(),
        }
    }
}
