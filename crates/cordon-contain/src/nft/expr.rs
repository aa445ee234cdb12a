//! The nf_tables expressions cordon's rules are made of, and their netlink encoding.
//!
//! Every expression works on register 1 (`NFT_REG_1`), exactly as `nft` compiles the equivalent rules
//! (compare `nft --debug=netlink`): load a value, optionally mask it, compare it, and finish the rule
//! with a verdict.

use super::netlink::Message;

const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;

// enum nft_list_attributes / nft_expr_attributes
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
// enum nft_data_attributes / nft_verdict_attributes
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;

/// `meta` keys cordon loads (`enum nft_meta_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// Input interface index (`iif`).
    Iif = 4,
    /// Output interface index (`oif`).
    Oif = 5,
    /// Netfilter family: 2 for IPv4, 10 for IPv6 (`nfproto`).
    NfProto = 15,
    /// Layer 4 protocol number (`l4proto`).
    L4Proto = 16,
}

/// Where a `payload` load starts (`enum nft_payload_bases`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The IP header.
    Network = 1,
    /// The TCP/UDP/ICMP header.
    Transport = 2,
}

/// Comparison operators (`enum nft_cmp_ops`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// Equal.
    Eq = 0,
    /// Not equal.
    Neq = 1,
}

/// Final verdicts (`NF_DROP`, `NF_ACCEPT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `drop`
    Drop = 0,
    /// `accept`
    Accept = 1,
}

/// One expression of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Load a `meta` key into register 1.
    Meta(MetaKey),
    /// Load `len` bytes at `offset` from `base` into register 1.
    Payload {
        /// Header.
        base: Base,
        /// Offset in bytes.
        offset: u32,
        /// Length in bytes.
        len: u32,
    },
    /// Register 1 = register 1 AND mask (length of the mask).
    Mask(Vec<u8>),
    /// Compare register 1 with data.
    Cmp(CmpOp, Vec<u8>),
    /// Load the conntrack state bits into register 1.
    CtState,
    /// Match when register 1 is an element of the set.
    Lookup {
        /// Set name.
        set: String,
        /// Set id within the creating batch.
        set_id: u32,
    },
    /// Count packets and bytes.
    Counter,
    /// End the rule with a verdict.
    Verdict(Verdict),
}

impl Expr {
    /// Appends the expression as an `NFTA_LIST_ELEM` to a rule's expression list.
    pub fn encode(&self, m: &mut Message) {
        m.begin_nest(NFTA_LIST_ELEM);
        match self {
            Expr::Meta(key) => {
                m.str_attr(NFTA_EXPR_NAME, "meta").begin_nest(NFTA_EXPR_DATA);
                m.u32_attr(1, NFT_REG_1).u32_attr(2, *key as u32); // DREG, KEY
            }
            Expr::Payload { base, offset, len } => {
                m.str_attr(NFTA_EXPR_NAME, "payload").begin_nest(NFTA_EXPR_DATA);
                m.u32_attr(1, NFT_REG_1)
                    .u32_attr(2, *base as u32)
                    .u32_attr(3, *offset)
                    .u32_attr(4, *len);
            }
            Expr::Mask(mask) => {
                m.str_attr(NFTA_EXPR_NAME, "bitwise").begin_nest(NFTA_EXPR_DATA);
                let len = u32::try_from(mask.len()).unwrap_or(16);
                m.u32_attr(1, NFT_REG_1).u32_attr(2, NFT_REG_1).u32_attr(3, len); // SREG, DREG, LEN
                m.begin_nest(4).bytes_attr(NFTA_DATA_VALUE, mask).end_nest(); // MASK
                m.begin_nest(5)
                    .bytes_attr(NFTA_DATA_VALUE, &vec![0u8; mask.len()])
                    .end_nest(); // XOR
            }
            Expr::Cmp(op, data) => {
                m.str_attr(NFTA_EXPR_NAME, "cmp").begin_nest(NFTA_EXPR_DATA);
                m.u32_attr(1, NFT_REG_1).u32_attr(2, *op as u32); // SREG, OP
                m.begin_nest(3).bytes_attr(NFTA_DATA_VALUE, data).end_nest(); // DATA
            }
            Expr::CtState => {
                m.str_attr(NFTA_EXPR_NAME, "ct").begin_nest(NFTA_EXPR_DATA);
                m.u32_attr(1, NFT_REG_1).u32_attr(2, 0); // DREG, KEY = NFT_CT_STATE
            }
            Expr::Lookup { set, set_id } => {
                m.str_attr(NFTA_EXPR_NAME, "lookup").begin_nest(NFTA_EXPR_DATA);
                m.str_attr(1, set).u32_attr(2, NFT_REG_1).u32_attr(4, *set_id); // SET, SREG, SET_ID
            }
            Expr::Counter => {
                m.str_attr(NFTA_EXPR_NAME, "counter").begin_nest(NFTA_EXPR_DATA);
                m.u64_attr(1, 0).u64_attr(2, 0); // BYTES, PACKETS
            }
            Expr::Verdict(v) => {
                m.str_attr(NFTA_EXPR_NAME, "immediate").begin_nest(NFTA_EXPR_DATA);
                m.u32_attr(1, NFT_REG_VERDICT); // DREG
                m.begin_nest(2)
                    .begin_nest(NFTA_DATA_VERDICT)
                    .u32_attr(NFTA_VERDICT_CODE, *v as u32);
                m.end_nest().end_nest();
            }
        }
        m.end_nest(); // NFTA_EXPR_DATA
        m.end_nest(); // NFTA_LIST_ELEM
    }
}
