/* events.c: the event stream's kinds and the head of every event payload.
 *
 * The kinds and their fields come from events.def only; publishers (workers,
 * the coordinator) pack a payload with vr_event_head() and then one array
 * per record, so the field order on the wire is the order of events.def.  A
 * subscriber needs no compiled-in layout: every payload names its fields.
 */
#include "vr_schema.h"

#include <msgpack.h>
#include <string.h>

/* Index of each kind's first field in the flat field arrays: the enum
 * counts fields, and each kind's start sits at the index of its first. */
enum {
#define VR_EVENT(kind, source, doc) EV_START_##kind, EV_BACK_##kind = EV_START_##kind - 1,
#define VR_EVENT_FIELD(kind, field, doc) EV_FIELD_##kind##_##field,
#include "events.def"
#undef VR_EVENT
#undef VR_EVENT_FIELD
    EV_NFIELDS
};
/* Fields per kind: "0 + 1 + 1 ..." built by the same lines. */
enum {
    EV_COUNT_NONE_ = 0
#define VR_EVENT(kind, source, doc) , EV_COUNT_##kind = 0
#define VR_EVENT_FIELD(kind, field, doc) + 1
#include "events.def"
#undef VR_EVENT
#undef VR_EVENT_FIELD
};

static const char *const field_names[EV_NFIELDS] = {
#define VR_EVENT(kind, source, doc)
#define VR_EVENT_FIELD(kind, field, doc) #field,
#include "events.def"
#undef VR_EVENT_FIELD
#define VR_EVENT_FIELD(kind, field, doc)
};
static const char *const field_docs[EV_NFIELDS] = {
#undef VR_EVENT_FIELD
#define VR_EVENT_FIELD(kind, field, doc) doc,
#include "events.def"
#undef VR_EVENT
#undef VR_EVENT_FIELD
};

const vr_event_def vr_event_defs[VR_NEVENTS] = {
#define VR_EVENT(kind, src, d)                                                              \
    {.name = #kind, .source = src, .doc = d, .nfields = EV_COUNT_##kind,                      \
     .fields = field_names + EV_START_##kind, .field_docs = field_docs + EV_START_##kind},
#define VR_EVENT_FIELD(kind, field, doc)
#include "events.def"
#undef VR_EVENT
#undef VR_EVENT_FIELD
};

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

int vr_event_head(struct msgpack_packer *pk, int kind, int64_t universe, uint64_t turn, uint64_t seq,
                  uint32_t nrows)
{
    if (kind < 0 || kind >= VR_NEVENTS)
        return -VR_EBADARG;
    const vr_event_def *d = &vr_event_defs[kind];
    msgpack_pack_map(pk, 7);
    pack_str(pk, "v");
    msgpack_pack_uint32(pk, VR_EVENTS_VERSION);
    pack_str(pk, "kind");
    pack_str(pk, d->name);
    pack_str(pk, "universe");
    if (universe < 0)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_int64(pk, universe);
    pack_str(pk, "turn");
    msgpack_pack_uint64(pk, turn);
    pack_str(pk, "seq");
    msgpack_pack_uint64(pk, seq);
    pack_str(pk, "fields");
    msgpack_pack_array(pk, d->nfields);
    for (uint32_t i = 0; i < d->nfields; i++)
        pack_str(pk, d->fields[i]);
    pack_str(pk, "rows");
    msgpack_pack_array(pk, nrows);
    return 0;
}

void vr_events_markdown(FILE *out)
{
    fprintf(out, "\n## Events (version %u)\n\n"
                 "ZeroMQ PUB/SUB, from `schemas/events.def`.  Each message is two frames, "
                 "`[topic, payload]`: the topic is the kind below (subscribe by prefix to filter on the "
                 "publisher's side); the payload a msgpack map `{\"v\", \"kind\", \"universe\" (nil for "
                 "the cluster), \"turn\", \"seq\", \"fields\": [names], \"rows\": [[values in the order "
                 "of fields], ...]}` holding every record of one kind of one committed turn from one "
                 "publisher.  `seq` counts that publisher's messages of that kind (a gap means "
                 "messages were dropped).\n",
            VR_EVENTS_VERSION);
    for (int k = 0; k < VR_NEVENTS; k++) {
        const vr_event_def *d = &vr_event_defs[k];
        fprintf(out, "\n### `%s` (from the %s)\n\n%s\n\n| field | meaning |\n|---|---|\n", d->name, d->source,
                d->doc);
        for (uint32_t i = 0; i < d->nfields; i++)
            fprintf(out, "| `%s` | %s |\n", d->fields[i], d->field_docs[i]);
    }
}
