//! cordon's own nf_tables table: a model that renders both as `nft` syntax (shown in the plan, so a
//! responder can read exactly what will be enforced) and as the netlink batch that installs it.

pub mod expr;
pub mod netlink;

use expr::Expr;
use netlink::{Batch, FAMILY_INET, Message, MsgType};

/// The table cordon owns. Nothing else on the host is touched: removing it restores the previous state.
pub const TABLE: &str = "cordon";
/// The set whose elements carry the dead-man timeout (see [`crate::network`]).
pub const ARMED_SET: &str = "armed";
const ARMED_SET_ID: u32 = 1;

// enum nft_table/chain/hook/rule/set/set_elem attributes
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_ID: u16 = 10;
const NFT_SET_TIMEOUT: u32 = 0x10;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_LIST_SET_ID: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_SET_ELEM_EXPIRATION: u16 = 5;
const NFTA_DATA_VALUE: u16 = 1;
/// `nft`'s datatype number for `nf_proto` (TYPE_NFPROTO), so that `nft list` prints the set readably.
const TYPE_NFPROTO: u32 = 2;
/// The members of the armed set: NFPROTO_IPV4 and NFPROTO_IPV6.
const ARMED_KEYS: [(u8, &str); 2] = [(2, "ipv4"), (10, "ipv6")];

/// A netfilter hook a base chain attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Packets to this host.
    Input,
    /// Packets routed through this host (containers, VMs, a router).
    Forward,
    /// Packets from this host.
    Output,
}

impl Hook {
    fn number(self) -> u32 {
        match self {
            Hook::Input => 1,
            Hook::Forward => 2,
            Hook::Output => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
        }
    }
}

/// One rule: the expressions and the same rule in `nft` syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What `nft list` shows.
    pub text: String,
    /// What the kernel runs.
    pub exprs: Vec<Expr>,
}

/// A base chain with its rules (policy accept: the final rule drops while the table is armed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Hook.
    pub hook: Hook,
    /// Priority (lower runs earlier).
    pub priority: i32,
    /// Rules in order.
    pub rules: Vec<Rule>,
}

/// The whole `inet cordon` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Base chains.
    pub chains: Vec<Chain>,
    /// Seconds until the armed set's elements expire (None: armed without a timeout).
    pub arm_timeout_secs: Option<u64>,
}

impl Table {
    /// The table in `nft -f` syntax.
    pub fn to_nft(&self) -> String {
        let mut s =
            format!("table inet {TABLE} {{\n\tset {ARMED_SET} {{\n\t\ttype nf_proto\n\t\tflags timeout\n");
        let elems: Vec<String> = ARMED_KEYS
            .iter()
            .map(|(_, name)| match self.arm_timeout_secs {
                Some(t) => format!("{name} timeout {t}s"),
                None => (*name).to_string(),
            })
            .collect();
        s.push_str(&format!("\t\telements = {{ {} }}\n\t}}\n", elems.join(", ")));
        for c in &self.chains {
            s.push_str(&format!(
                "\n\tchain {} {{\n\t\ttype filter hook {} priority {}; policy accept;\n",
                c.hook.name(),
                c.hook.name(),
                c.priority
            ));
            for r in &c.rules {
                s.push_str(&format!("\t\t{}\n", r.text));
            }
            s.push_str("\t}\n");
        }
        s.push_str("}\n");
        s
    }

    /// The batch that creates the table, its set (elements with the timeout), its chains and rules.
    /// `NLM_F_EXCL` on the table makes the batch fail as a whole if a cordon table already exists.
    pub fn create_batch(&self) -> Batch {
        let mut b = Batch::new();
        let mut m = Message::new(MsgType::NewTable, FAMILY_INET, true);
        m.str_attr(NFTA_TABLE_NAME, TABLE).u32_attr(NFTA_TABLE_FLAGS, 0);
        b.push(m);

        let mut m = Message::new(MsgType::NewSet, FAMILY_INET, true);
        m.str_attr(NFTA_SET_TABLE, TABLE)
            .str_attr(NFTA_SET_NAME, ARMED_SET)
            .u32_attr(NFTA_SET_FLAGS, NFT_SET_TIMEOUT)
            .u32_attr(NFTA_SET_KEY_TYPE, TYPE_NFPROTO)
            .u32_attr(NFTA_SET_KEY_LEN, 1)
            .u32_attr(NFTA_SET_ID, ARMED_SET_ID);
        b.push(m);
        b.push(armed_elements(MsgType::NewSetElem, self.arm_timeout_secs, true));

        for c in &self.chains {
            let mut m = Message::new(MsgType::NewChain, FAMILY_INET, true);
            m.str_attr(NFTA_CHAIN_TABLE, TABLE)
                .str_attr(NFTA_CHAIN_NAME, c.hook.name());
            m.begin_nest(NFTA_CHAIN_HOOK)
                .u32_attr(NFTA_HOOK_HOOKNUM, c.hook.number())
                .u32_attr(NFTA_HOOK_PRIORITY, c.priority as u32)
                .end_nest();
            m.u32_attr(NFTA_CHAIN_POLICY, 1)
                .str_attr(NFTA_CHAIN_TYPE, "filter");
            b.push(m);
            for r in &c.rules {
                let mut m = Message::new(MsgType::NewRule, FAMILY_INET, true);
                m.str_attr(NFTA_RULE_TABLE, TABLE)
                    .str_attr(NFTA_RULE_CHAIN, c.hook.name());
                m.begin_nest(NFTA_RULE_EXPRESSIONS);
                for e in &r.exprs {
                    e.encode(&mut m);
                }
                m.end_nest();
                b.push(m);
            }
        }
        b
    }
}

/// The armed set's elements with or without a timeout, for adding or deleting.
fn armed_elements(kind: MsgType, timeout_secs: Option<u64>, same_batch: bool) -> Message {
    let create = kind == MsgType::NewSetElem;
    let mut m = Message::new(kind, FAMILY_INET, create);
    m.str_attr(NFTA_SET_ELEM_LIST_TABLE, TABLE)
        .str_attr(NFTA_SET_ELEM_LIST_SET, ARMED_SET);
    if same_batch {
        m.u32_attr(NFTA_SET_ELEM_LIST_SET_ID, ARMED_SET_ID);
    }
    m.begin_nest(NFTA_SET_ELEM_LIST_ELEMENTS);
    for (key, _) in ARMED_KEYS {
        m.begin_nest(NFTA_LIST_ELEM);
        if let Some(t) = timeout_secs {
            m.u64_attr(NFTA_SET_ELEM_TIMEOUT, t.saturating_mul(1000));
        }
        m.begin_nest(NFTA_SET_ELEM_KEY)
            .bytes_attr(NFTA_DATA_VALUE, &[key])
            .end_nest();
        m.end_nest();
    }
    m.end_nest();
    m
}

/// The batch that makes the isolation permanent: the timed elements are replaced by untimed ones in
/// one transaction, so there is no instant in which the table is disarmed.
pub fn confirm_batch() -> Batch {
    let mut b = Batch::new();
    b.push(armed_elements(MsgType::DelSetElem, None, false));
    b.push(armed_elements(MsgType::NewSetElem, None, false));
    b
}

/// The batch that removes cordon's table and everything in it.
pub fn delete_batch() -> Batch {
    let mut b = Batch::new();
    let mut m = Message::new(MsgType::DelTable, FAMILY_INET, false);
    m.str_attr(NFTA_TABLE_NAME, TABLE);
    b.push(m);
    b
}

/// What the kernel says about cordon's table right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelState {
    /// No `inet cordon` table.
    Absent,
    /// The table exists and drops traffic; `expires_in_ms` is the dead-man timer (None once confirmed).
    Armed {
        /// Milliseconds until the kernel stops enforcing the drop rules on its own.
        expires_in_ms: Option<u64>,
    },
    /// The table exists but its armed set is empty: the timeout passed, nothing is dropped any more.
    Disarmed,
}

/// Asks the kernel whether cordon's table exists and how long its armed elements have left.
pub fn kernel_state(sock: &mut netlink::Socket) -> Result<KernelState, crate::Error> {
    let mut m = Message::new(MsgType::GetTable, FAMILY_INET, false);
    m.str_attr(NFTA_TABLE_NAME, TABLE);
    match sock.request(m, "look up the cordon table") {
        Ok(_) => {}
        Err(crate::Error::Netlink { errno: Some(2), .. }) => return Ok(KernelState::Absent),
        Err(e) => return Err(e),
    }
    let mut m = Message::dump(MsgType::GetSetElem, FAMILY_INET);
    m.str_attr(NFTA_SET_ELEM_LIST_TABLE, TABLE)
        .str_attr(NFTA_SET_ELEM_LIST_SET, ARMED_SET);
    let replies = match sock.request(m, "read the armed set") {
        Ok(r) => r,
        Err(crate::Error::Netlink { errno: Some(2), .. }) => return Ok(KernelState::Disarmed),
        Err(e) => return Err(e),
    };
    let mut found = false;
    let mut longest: Option<u64> = None;
    let mut untimed = false;
    for r in &replies {
        for (kind, list) in netlink::attributes(&r.attrs) {
            if kind != NFTA_SET_ELEM_LIST_ELEMENTS {
                continue;
            }
            for (_, elem) in netlink::attributes(list) {
                found = true;
                let expiration = netlink::attributes(elem)
                    .into_iter()
                    .find(|(k, _)| *k == NFTA_SET_ELEM_EXPIRATION)
                    .and_then(|(_, v)| netlink::be_u64(v));
                match expiration {
                    Some(ms) => longest = Some(longest.map_or(ms, |l: u64| l.max(ms))),
                    None => untimed = true,
                }
            }
        }
    }
    Ok(match (found, untimed) {
        (false, _) => KernelState::Disarmed,
        (true, true) => KernelState::Armed { expires_in_ms: None },
        (true, false) => KernelState::Armed {
            expires_in_ms: longest,
        },
    })
}
