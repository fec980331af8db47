/*
 * cmd_campaign.h — segdb-server's campaign commands (SPEC 3 and 7): bulk
 * writes on a target (TAG, UNTAG, SET, ARCHIVE, UNARCHIVE), SPLIT, FACET,
 * OVERLAP, REACH, saved segments (SEGMENT.*), the group tree (GROUP.*) and
 * contact notes (NOTE.*). They are rows of the command table in commands.c;
 * the reply shapes are documented in docs/protocol.md ("Campaign commands").
 *
 * A target is `ID <id> [<id>...]` (decimal u64 ids, at most id-list-max of
 * them, else -LIMIT) or `WHERE <filter>` (the rest of the command, joined by
 * single spaces). Every handler has the cmd_handler signature of commands.h:
 * it checks its arguments, calls the engine API of segdb.h, appends exactly
 * one reply (or error) to out and returns CMD_DONE.
 */
#ifndef SEGDB_CMD_CAMPAIGN_H
#define SEGDB_CMD_CAMPAIGN_H

#include "commands.h"

#define CMD_CAMPAIGN_ARGS                                                                          \
    server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,           \
        reply_buf *out

/* TAG tag target / UNTAG tag target: :contacts changed (archived ones skipped). */
int cmd_tag(CMD_CAMPAIGN_ARGS);
int cmd_untag(CMD_CAMPAIGN_ARGS);
/* SET field value target: *2 [:changed, :rejected]. */
int cmd_set(CMD_CAMPAIGN_ARGS);
/* ARCHIVE target / UNARCHIVE target: :contacts changed. */
int cmd_archive(CMD_CAMPAIGN_ARGS);
int cmd_unarchive(CMD_CAMPAIGN_ARGS);
/* SPLIT n|PERCENT p1 p2... [RANDOM seed] [BY field] [SAVE prefix] [WHERE filter]:
 * array of part sizes (integers). With SAVE it writes, so it is refused with
 * -READONLY while the log is failing; without SAVE it is a read. */
int cmd_split(CMD_CAMPAIGN_ARGS);
/* FACET field [TOP k] [WHERE filter]: flat array value (bulk), count (integer)... */
int cmd_facet(CMD_CAMPAIGN_ARGS);
/* OVERLAP filter | filter ...: array of n arrays of n integers. */
int cmd_overlap(CMD_CAMPAIGN_ARGS);
/* REACH [WHERE filter]: flat array email, n, sms, n, whatsapp, n, web, n. */
int cmd_reach(CMD_CAMPAIGN_ARGS);
/* SEGMENT.SAVE name WHERE filter: +OK. SEGMENT.FREEZE name WHERE filter: :size.
 * SEGMENT.LIST: array of segment entries. SEGMENT.GET name: one entry with its
 * count. SEGMENT.DEL name: +OK. */
int cmd_segment_save(CMD_CAMPAIGN_ARGS);
int cmd_segment_freeze(CMD_CAMPAIGN_ARGS);
int cmd_segment_list(CMD_CAMPAIGN_ARGS);
int cmd_segment_get(CMD_CAMPAIGN_ARGS);
int cmd_segment_del(CMD_CAMPAIGN_ARGS);
/* GROUP.CREATE name [PARENT code]: bulk code. GROUP.ADD/REMOVE code target:
 * :contacts changed. GROUP.LIST: array of group entries. GROUP.DEL code: +OK. */
int cmd_group_create(CMD_CAMPAIGN_ARGS);
int cmd_group_add(CMD_CAMPAIGN_ARGS);
int cmd_group_remove(CMD_CAMPAIGN_ARGS);
int cmd_group_list(CMD_CAMPAIGN_ARGS);
int cmd_group_del(CMD_CAMPAIGN_ARGS);
/* NOTE.ADD id text: :note id. NOTE.LIST id: array of note entries, newest
 * first. NOTE.EDIT id note text / NOTE.DEL id note: +OK. */
int cmd_note_add(CMD_CAMPAIGN_ARGS);
int cmd_note_list(CMD_CAMPAIGN_ARGS);
int cmd_note_edit(CMD_CAMPAIGN_ARGS);
int cmd_note_del(CMD_CAMPAIGN_ARGS);

#endif /* SEGDB_CMD_CAMPAIGN_H */
