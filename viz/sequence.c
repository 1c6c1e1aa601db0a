/* stub */
#include "mailsim/viz.h"
MsVizCanvas *
ms_viz_sequence(MsWorld *w, const MsRecorder *rec, const MsVizJourney *j, MsVizFormat format, double width)
{
    (void) w; (void) rec; (void) j;
    return ms_viz_canvas_new(format, width > 0 ? width : 1600, 1000);
}
MsVizCanvas *
ms_viz_plots(MsWorld *w, MsVizFormat format, double width, double height)
{
    (void) w;
    return ms_viz_canvas_new(format, width > 0 ? width : 1600, height > 0 ? height : 1000);
}
char *
ms_viz_story_html(MsWorld *w, const MsVizJourney *j)
{
    (void) w; (void) j;
    return g_strdup("<html></html>");
}
