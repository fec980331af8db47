/*
 * segdb_limits.h — every limit and default of SPEC section 6 in one place,
 * with its unit in the name. Servers and tools read these; options override.
 */
#ifndef SEGDB_LIMITS_H
#define SEGDB_LIMITS_H

#define SEGDB_DEFAULT_PORT 7311
#define SEGDB_DEFAULT_BIND "127.0.0.1"
#define SEGDB_DEFAULT_MAX_CLIENTS 10000
#define SEGDB_MAX_REQUEST_BYTES (64u * 1024 * 1024)     /* request line or one bulk */
#define SEGDB_MAX_ARGS 1048576u                         /* arguments in one request */
#define SEGDB_MAX_UNAUTH_BUFFER_BYTES (16u * 1024)      /* before AUTH (CVE-2021-32675) */
#define SEGDB_MAX_OUTPUT_BUFFER_BYTES (256u * 1024 * 1024) /* unread replies per client */

#define SEGDB_MAX_FILTER_BYTES (64u * 1024)
#define SEGDB_MAX_FILTER_DEPTH 64u                       /* each '(' and each NOT is a level */
#define SEGDB_MAX_FILTER_TERMS 4096u
#define SEGDB_MAX_NOTE_CHARS 1000u                       /* Unicode code points */
#define SEGDB_MAX_ID_LIST 1000000u                       /* ids in one command */
#define SEGDB_MAX_FIND_LIMIT 10000u                      /* LIMIT count of one FIND page */
#define SEGDB_DEFAULT_FIND_LIMIT 10000u                  /* FIND without LIMIT: one full page */
#define SEGDB_MAX_SPLIT_PARTS 1000u
#define SEGDB_MAX_TAG_BYTES 64u                          /* tag names: 1-64 characters */
#define SEGDB_MAX_FIELD_NAME_BYTES 64u
#define SEGDB_MAX_FIELDS 1024u                           /* built-in + custom */
#define SEGDB_MAX_SEGMENT_NAME_BYTES 64u                 /* segment names: 1-64 of A-Z a-z 0-9 _ - */
#define SEGDB_MAX_SEGMENT_DEPTH 32u                      /* live segments inlined inside each other */
#define SEGDB_MAX_GROUP_NAME_CHARS 200u                  /* GROUP.CREATE names, Unicode code points */
#define SEGDB_MAX_GROUP_CODE_BYTES 64u                   /* derived group codes (the tag-name rule) */
#define SEGDB_MAX_OVERLAP_FILTERS 32u                    /* filters in one OVERLAP */
#define SEGDB_MAX_PERCENT_DECIMALS 12u                   /* SPLIT PERCENT: digits after the point */
#define SEGDB_MAX_IMPORT_ROWS 100000u                    /* data rows in one IMPORT chunk */
#define SEGDB_DEFAULT_EXPORT_COUNT 1000u                 /* EXPORT rows per page without COUNT */
#define SEGDB_MAX_EXPORT_COUNT 100000u                   /* EXPORT COUNT: rows per page */

#define SEGDB_DEFAULT_DONT_FORGET_DAYS 30
#define SEGDB_DEFAULT_TZ_OFFSET_SECONDS (7 * 3600)       /* Asia/Ho_Chi_Minh, no DST */

#endif /* SEGDB_LIMITS_H */
