/* Scenario overrides: settings changed by XPath on the parsed document of a
 * scenario before it is checked and read, so that any attribute the schema
 * knows can be set from outside the file (the axes of a sweep or an
 * experiment, include/mailsim/sweep.h).
 *
 * An override is (select, value): `select` is an XPath 1.0 expression
 * (libxml2) that names attributes ("//link[@a='r-isp']/@loss") or text
 * ("//message[@id='m1']/text()"); every node it selects takes `value`, as
 * written (units and all: "5%", "10ms"). Overrides are applied in order:
 *   1. to the document as written (so <generate>'s own attributes can be
 *      set: "//generate/@messages");
 *   2. an expression that selects nothing there is applied again after
 *      <generate> is expanded (so "//link/@loss" reaches generated links);
 *   3. where neither selects anything and the expression ends in "/@NAME",
 *      the attribute is added to each element the part before "/@NAME"
 *      selects (so a link whose loss was left at its default can be set).
 * The document is then checked by the schema and read as usual, so a value
 * the schema or the reader refuses is an error with file:line, and an
 * expression that selects nothing at all, selects elements, or does not
 * compile is an error naming it. */
#pragma once

#include <glib.h>
#include "mailsim/scenario.h"

G_BEGIN_DECLS

typedef struct {
    const char *select; /* XPath 1.0 */
    const char *value;
} MsScenarioOverride;

/* As ms_scenario_load_memory(), with `overrides[0..n)` applied (above).
 * Returns a new scenario (caller frees) or NULL with `error`
 * (MS_SCENARIO_ERROR). */
MsScenario *ms_scenario_load_memory_with(const char *data, gsize len, const char *display_name,
                                         const MsScenarioOverride *overrides, guint n,
                                         GError **error);

/* Whether `select` compiles as an XPath 1.0 expression; FALSE with `error`
 * saying why (libxml2's words). */
gboolean ms_scenario_xpath_check(const char *select, GError **error);

G_END_DECLS
