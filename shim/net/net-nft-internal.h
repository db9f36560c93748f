/* net-nft-internal.h — what net-nft.c (writing coi's nftables state) and net-nft-read.c (reading it)
 * share: cleanup helpers for libmnl/libnftnl objects. Include after libmnl's and libnftnl's headers. */
#pragma once

#include "util.h"

DEFINE_POINTER_CLEANUP(struct mnl_socket, mnl_socket_close, mnl_closep)
DEFINE_POINTER_CLEANUP(struct nftnl_set, nftnl_set_free, nft_set_freep)
DEFINE_POINTER_CLEANUP(struct nftnl_table, nftnl_table_free, nft_table_freep)
DEFINE_POINTER_CLEANUP(struct nftnl_chain, nftnl_chain_free, nft_chain_freep)
#define _cleanup_mnl_ _cleanup_(mnl_closep)
