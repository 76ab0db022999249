/* diplomacy.c: opinion drift and relation states (see diplomacy.h). */
#include "diplomacy.h"

#include "vr_sim.h"

uint8_t vr_diplomacy_next(uint8_t state, int op)
{
    switch (state) {
    case VR_REL_WAR:
        return op > -100 ? VR_REL_PEACE : VR_REL_WAR;
    case VR_REL_PEACE:
        return op < -300 ? VR_REL_WAR : op > 300 ? VR_REL_TRADE : VR_REL_PEACE;
    case VR_REL_TRADE:
        return op < 150 ? VR_REL_PEACE : op > 700 ? VR_REL_ALLIANCE : VR_REL_TRADE;
    case VR_REL_ALLIANCE:
        return op < 500 ? VR_REL_TRADE : VR_REL_ALLIANCE;
    default:
        return VR_REL_PEACE;
    }
}

int vr_diplomacy_turn(const vr_diplomacy_params *p, vr_cols *c)
{
    uint32_t n = p->factions;
    if (n == 0 || (uint64_t)n * n > c->tables[VR_TAB_relations].count)
        return -VR_EBADARG;
    int changed = 0;
    for (uint32_t a = 0; a < n; a++)
        for (uint32_t b = a; b < n; b++) {
            uint32_t ab = a * n + b, ba = b * n + a;
            if (a == b) {
                c->relations_state[ab] = VR_REL_ALLIANCE;
                c->relations_opinion[ab] = 1000;
                continue;
            }
            int op = c->relations_opinion[ab];
            uint64_t r = vr_rand(p->seed, p->universe, p->turn, (uint64_t)a * 65536 + b, VR_RS_DIPLOMACY);
            int step = (int)(r % 61) - 30;     /* -30..30 */
            int pull = op / 50;                /* drift back toward neutral */
            int push = p->push ? p->push[ab] + p->push[ba] : 0;
            op += step - pull + push;
            op = op < -1000 ? -1000 : op > 1000 ? 1000 : op;
            uint8_t next = vr_diplomacy_next(c->relations_state[ab], op);
            changed += next != c->relations_state[ab];
            c->relations_opinion[ab] = c->relations_opinion[ba] = (int16_t)op;
            c->relations_state[ab] = c->relations_state[ba] = next;
        }
    return changed;
}
