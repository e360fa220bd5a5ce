//! [`ExpiryRole`]: how a lookup treats an expired key on a master and on a replica.

use crate::commands::{strings, Ctx, Effects};
use crate::{ExpiryRole, Keyspace};
use zedis_kv_pool::SystemAlloc;
use zedis_resp::Protocol;

fn set_with_expiry(ks: &mut Keyspace<SystemAlloc>, key: &[u8], pxat: &[u8]) {
    let argv: [&[u8]; 5] = [b"SET", key, b"v", b"PXAT", pxat];
    let (mut out, mut fx) = (Vec::new(), Effects::default());
    let mut ctx = Ctx {
        argv: &argv,
        out: &mut out,
        proto: Protocol::Resp2,
        db: 0,
        now_ms: 1_000,
        fx: &mut fx,
    };
    strings::set(ks, &mut ctx);
    assert_eq!(out, b"+OK\r\n");
}

#[test]
fn replicas_hide_expired_keys_without_deleting_them_and_the_master_still_sees_them() {
    let mut ks: Keyspace<SystemAlloc> = Keyspace::new(1, Default::default());
    set_with_expiry(&mut ks, b"k", b"2000");
    let mut fx = Effects::default();
    let later = 5_000;

    ks.expiry = ExpiryRole::Replica;
    assert!(
        ks.lookup(0, b"k", later, &mut fx).is_none(),
        "hidden from the replica's clients"
    );
    assert_eq!(
        ks.total_keys(),
        1,
        "not deleted: the master's DEL does that"
    );
    assert!(
        fx.expired.is_empty() && fx.events.is_empty(),
        "nothing propagated or announced"
    );
    assert_eq!(ks.stats.expired_keys, 0);

    ks.expiry = ExpiryRole::ReplicaApplyingMaster;
    assert!(
        ks.lookup(0, b"k", later, &mut fx).is_some(),
        "alive for the master's commands"
    );

    ks.expiry = ExpiryRole::Master;
    assert!(ks.lookup(0, b"k", later, &mut fx).is_none());
    assert_eq!(ks.total_keys(), 0, "a master deletes it");
    assert_eq!(fx.expired, vec![(0, b"k".to_vec())]);
    assert_eq!(ks.stats.expired_keys, 1);
}
