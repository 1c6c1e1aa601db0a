/* The story page (include/mailsim/viz.h): one self-contained HTML file
 * with the hop diagram as inline SVG, the journey's steps as JSON, and a
 * few lines of script with Previous / Play / Pause / Next buttons (and the
 * arrow keys) that step through the journey: the current step's arrow,
 * badge and side panel entry stay bright, the others fade, and the step's
 * protocol lines are listed under the picture; the step's "what really
 * happens" aside (the trace's notes, attached to the step they explain by
 * the journey) is shown in a box beside its text.
 *
 * Nothing is fetched: no external script, style, font or image. The page
 * honours a URL fragment "#step=N" (open at step N) and "&press=next,prev"
 * (press those buttons after loading), and keeps <body data-current-step>
 * up to date, so a headless browser can check it (tests/test_story.sh).
 * Under the lines, "what an eavesdropper on the path sees" for the step:
 * a session in the clear, every line as sent; one inside TLS, the lines
 * before STARTTLS, the handshake (only the server name it asks for, SNI,
 * RFC 6066 3, is readable in TLS 1.3), then each line only as a TLS record
 * of its size (RFC 8446 5.2: 5 octets of header, the text, one octet of
 * content type and a 16-octet tag); a DNS step, the query and answer,
 * which travel unencrypted.
 *
 * JSON strings escape <, > and & so that no text can close the script. */
#include "mailsim/json.h"
#include "mailsim/viz.h"

#include <string.h>

static const char story_css[] =
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:16px "
    "24px;color:#222;background:#fff}\n"
    "h1{font-size:24px;margin:0 0 4px}\n"
    "p.lead{margin:0 0 12px;max-width:1100px;color:#444}\n"
    "#controls{margin:8px 0;display:flex;align-items:center;gap:8px}\n"
    "#controls button{font-size:15px;padding:6px 14px;border:1px solid "
    "#888;border-radius:6px;background:#f4f4f4;cursor:pointer}\n"
    "#controls button:hover{background:#e6e6e6}\n"
    "#step-label{font-weight:bold;margin-left:12px}\n"
    "#step-row{display:flex;gap:16px;align-items:flex-start;max-width:1600px}\n"
    "#step-text{flex:1;min-height:1.5em;margin:4px 0 8px;font-size:15px}\n"
    "#step-aside{flex:1;margin:4px 0 8px;padding:6px 10px;font-size:14px;color:#333;"
    "background:#fff8e1;border-left:4px solid #e69f00}\n"
    "#figure svg{width:100%;height:auto;max-width:1600px;border:1px solid #ddd}\n"
    "#figure g.arrow,#figure g.badge,#figure g.panel-step{transition:opacity .25s}\n"
    "body.stepping #figure g.arrow:not(.active),body.stepping #figure g.badge:not(.active),"
    "body.stepping #figure g.panel-step:not(.active){opacity:.13}\n"
    "#lines{font-family:'DejaVu Sans "
    "Mono',monospace;font-size:13px;white-space:pre;background:#f6f6f6;"
    "border:1px solid #ddd;padding:10px;max-height:340px;overflow:auto;margin:10px 0}\n"
    "#eaves{font-family:'DejaVu Sans Mono',monospace;font-size:13px;white-space:pre;"
    "background:#fff4ee;border:1px solid #e8c3b0;padding:10px;max-height:240px;overflow:auto;"
    "margin:4px 0 10px}\n"
    "h2.eaves{font-size:15px;margin:12px 0 0}\n";

static const char story_js[] =
    "(function(){\n"
    "var cur=0,timer=null;\n"
    "function el(id){return document.getElementById(id);}\n"
    "function show(n){\n"
    "  cur=Math.max(0,Math.min(STEPS.length,n));\n"
    "  document.body.setAttribute('data-current-step',String(cur));\n"
    "  document.body.classList.toggle('stepping',cur>0);\n"
    "  var els=document.querySelectorAll('#figure [data-step]');\n"
    "  for(var i=0;i<els.length;i++){var e=els[i];\n"
    "    if(Number(e.getAttribute('data-step'))===cur)e.classList.add('active');else "
    "e.classList.remove('active');}\n"
    "  var a=el('step-aside'),s0=cur>0?STEPS[cur-1]:null;\n"
    "  a.textContent=s0&&s0.aside?s0.aside:'';a.hidden=!(s0&&s0.aside);\n"
    "  if(cur===0){el('step-label').textContent='Overview: '+STEPS.length+' steps';\n"
    "    el('step-text').textContent='Press Next (or the right arrow key) to follow the message "
    "hop by hop.';\n"
    "    el('lines').textContent='';}\n"
    "  else{var s=STEPS[cur-1];el('step-label').textContent='Step '+cur+' of '+STEPS.length;\n"
    "    el('step-text').textContent='t = '+s.time+' \\u00b7 '+s.title+': '+s.detail;\n"
    "    el('lines').textContent=s.lines.length?s.lines.map(function(l){\n"
    "      return l.t+'  '+l.from+' \\u2192 '+l.to+'  '+l.proto.toUpperCase()+'  "
    "'+l.text;}).join('\\n')\n"
    "      :'(no protocol lines: this step happens inside one host)';}\n"
    "  el('eaves').textContent=s0&&s0.eaves.length?s0.eaves.join('\\n'):'';\n"
    "  try{history.replaceState(null,'','#step='+cur);}catch(e){}\n"
    "}\n"
    "function stop(){if(timer){clearInterval(timer);timer=null;}}\n"
    "function play(){stop();if(cur>=STEPS.length)show(0);\n"
    "  timer=setInterval(function(){if(cur>=STEPS.length)stop();else show(cur+1);},1600);}\n"
    "el('next').addEventListener('click',function(){stop();show(cur+1);});\n"
    "el('prev').addEventListener('click',function(){stop();show(cur-1);});\n"
    "el('play').addEventListener('click',play);\n"
    "el('pause').addEventListener('click',stop);\n"
    "document.addEventListener('keydown',function(e){\n"
    "  if(e.key==='ArrowRight')el('next').click();else if(e.key==='ArrowLeft')el('prev').click();\n"
    "  else if(e.key===' '){e.preventDefault();if(timer)stop();else play();}});\n"
    "var start=0,press=[];\n"
    "location.hash.replace(/^#/,'').split('&').forEach(function(kv){var p=kv.split('=');\n"
    "  if(p[0]==='step')start=parseInt(p[1],10)||0;\n"
    "  if(p[0]==='press'&&p[1])press=p[1].split(',');});\n"
    "show(start);\n"
    "press.forEach(function(id){var b=el(id);if(b)b.click();});\n"
    "})();\n";

/* The octets of a line on the wire: its text and CRLF, or the size a
 * "<message content: N octets>" placeholder stands for. */
static guint64
line_octets(const char *text)
{
    static const char tag[] = "<message content: ";
    if (g_str_has_prefix(text, tag))
        return g_ascii_strtoull(text + sizeof tag - 1, NULL, 10);
    return strlen(text) + 2;
}

/* What someone tapping a link of the step's path reads (see the file's
 * opening comment). Returns new strings (caller unrefs). */
static GPtrArray *
eavesdropper_view(MsNet *net, const MsVizStep *s)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    if (s->kind == MS_VIZ_STEP_DNS) {
        g_ptr_array_add(out, g_strdup("DNS travels unencrypted: the question and the answer"));
        for (guint i = 0; i < s->lines->len; i++)
            g_ptr_array_add(out, g_strdup(g_array_index(s->lines, MsVizLine, i).text));
        return out;
    }
    if (!s->session)
        return out;
    MsHostId server = s->kind == MS_VIZ_STEP_POP3 || s->kind == MS_VIZ_STEP_IMAP ? s->from : s->to;
    if (!s->tls)
        g_ptr_array_add(out, g_strdup("In the clear: every command, reply and the whole message, "
                                      "as below, on every link of the path"));
    for (guint i = 0; i < s->lines->len; i++) {
        const MsVizLine *l = &g_array_index(s->lines, MsVizLine, i);
        const char *from = ms_net_host_name(net, l->from), *to = ms_net_host_name(net, l->to);
        if (s->tls && i == s->tls_from)
            g_ptr_array_add(
                out, g_strdup_printf("TLS handshake: a ClientHello asking for %s (the only name "
                                     "readable), then encrypted records; from here on:",
                                     ms_net_host_name(net, server)));
        if (s->tls && i >= s->tls_from) {
            /* lines written together (a multi-line reply, a pipelined
             * group) leave as one record */
            guint64 n = line_octets(l->text);
            guint e = i + 1;
            for (; e < s->lines->len; e++) {
                const MsVizLine *m = &g_array_index(s->lines, MsVizLine, e);
                if (m->at != l->at || m->from != l->from)
                    break;
                n += line_octets(m->text);
            }
            g_ptr_array_add(out, g_strdup_printf("%s \u2192 %s  TLS record, %" G_GUINT64_FORMAT
                                                 " octets",
                                                 from, to, n + 22));
            i = e - 1;
        } else
            g_ptr_array_add(out, g_strdup_printf("%s \u2192 %s  %s", from, to, l->text));
    }
    return out;
}

char *
ms_viz_story_html(MsWorld *w, const MsVizJourney *j)
{
    g_return_val_if_fail(w && j, NULL);
    MsNet *net = ms_world_net(w);
    const MsScenario *sc = ms_world_scenario(w);
    g_autoptr(MsVizCanvas) c = ms_viz_hops(w, j, MS_VIZ_FORMAT_SVG, 0, 0);
    g_autofree char *svg = ms_viz_canvas_svg_string(c, FALSE);
    const char *title = sc->title[0] ? sc->title : sc->name;
    g_autofree char *title_e = g_markup_escape_text(title, -1);
    g_autofree char *desc = g_strstrip(g_strdup(sc->description));
    g_autofree char *desc_e = g_markup_escape_text(desc, -1);
    g_autofree char *label_e = g_markup_escape_text(j->label, -1);

    GString *h =
        g_string_new("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    g_string_append_printf(h, "<title>%s \u2014 the journey of %s</title>\n", title_e, label_e);
    g_string_append_printf(h, "<style>\n%s</style>\n</head>\n<body data-current-step=\"0\">\n",
                           story_css);
    g_string_append_printf(h, "<h1>%s</h1>\n<p class=\"lead\">%s</p>\n", title_e, desc_e);
    g_string_append(h, "<div id=\"controls\">"
                       "<button id=\"prev\" type=\"button\">\u25c0 Previous</button>"
                       "<button id=\"play\" type=\"button\">\u25b6 Play</button>"
                       "<button id=\"pause\" type=\"button\">\u275a\u275a Pause</button>"
                       "<button id=\"next\" type=\"button\">Next \u25b6</button>"
                       "<span id=\"step-label\"></span></div>\n"
                       "<div id=\"step-row\"><div id=\"step-text\"></div>"
                       "<aside id=\"step-aside\" hidden></aside></div>\n<div id=\"figure\">\n");
    g_string_append(h, svg);
    g_string_append(h, "</div>\n<pre id=\"lines\"></pre>\n"
                       "<h2 class=\"eaves\">What an eavesdropper on the path sees</h2>\n"
                       "<pre id=\"eaves\"></pre>\n<script>\nvar STEPS=[");
    char buf[32];
    for (guint k = 0; k < j->steps->len; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        g_string_append(h, k ? ",\n{" : "\n{");
        g_string_append_printf(h, "\"n\":%u,\"kind\":", k + 1);
        ms_json_append_string(h, ms_viz_step_kind_to_string(s->kind), MS_JSON_HTML_SAFE);
        g_string_append(h, ",\"time\":");
        g_autofree char *t = ms_viz_time_label(s->at);
        ms_json_append_string(h, t, MS_JSON_HTML_SAFE);
        g_string_append(h, ",\"title\":");
        ms_json_append_string(h, s->title, MS_JSON_HTML_SAFE);
        g_string_append(h, ",\"detail\":");
        ms_json_append_string(h, s->detail, MS_JSON_HTML_SAFE);
        if (s->kind == MS_VIZ_STEP_CHECK) {
            static const char *const outcomes[] = { "taken in", "into Junk", "refused" };
            g_string_append(h, ",\"results\":");
            ms_json_append_string(h, s->results, MS_JSON_HTML_SAFE);
            g_string_append(h, ",\"outcome\":");
            ms_json_append_string(h, outcomes[s->outcome], MS_JSON_HTML_SAFE);
        }
        g_string_append(h, ",\"aside\":");
        ms_json_append_string(h, s->aside ? s->aside : "", MS_JSON_HTML_SAFE);
        g_string_append(h, ",\"lines\":[");
        for (guint i = 0; i < s->lines->len; i++) {
            const MsVizLine *l = &g_array_index(s->lines, MsVizLine, i);
            g_string_append(h, i ? ",{\"t\":" : "{\"t\":");
            ms_json_append_string(h, ms_time_format_seconds(l->at, buf, sizeof buf),
                                  MS_JSON_HTML_SAFE);
            g_string_append(h, ",\"from\":");
            ms_json_append_string(h, ms_net_host_name(net, l->from), MS_JSON_HTML_SAFE);
            g_string_append(h, ",\"to\":");
            ms_json_append_string(h, ms_net_host_name(net, l->to), MS_JSON_HTML_SAFE);
            g_string_append(h, ",\"proto\":");
            ms_json_append_string(h, l->proto, MS_JSON_HTML_SAFE);
            g_string_append(h, ",\"text\":");
            ms_json_append_string(h, l->text, MS_JSON_HTML_SAFE);
            g_string_append_c(h, '}');
        }
        g_string_append(h, "],\"eaves\":[");
        g_autoptr(GPtrArray) ev = eavesdropper_view(net, s);
        for (guint i = 0; i < ev->len; i++) {
            if (i)
                g_string_append_c(h, ',');
            ms_json_append_string(h, ev->pdata[i], MS_JSON_HTML_SAFE);
        }
        g_string_append(h, "]}");
    }
    g_string_append_printf(h, "\n];\n%s</script>\n</body>\n</html>\n", story_js);
    return g_string_free(h, FALSE);
}
