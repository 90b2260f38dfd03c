"""Trend panel: the selected tool's run (oven zones against the set-point and its band,
press platens, plater cell currents)."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from mes.tui.data import SETPOINT, Trend, series_label


class TrendPlot(PlotextPlot):
    """Shows one run's trend; x in minutes, y in the trend's unit."""

    def show(self, trend: Trend | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel(trend.axis if trend else "program time (min)")
        plt.ylabel(trend.unit if trend else "°C")
        if trend is None:
            self.border_title = "Trend"
            plt.title("select a tool to see its run")
        elif trend.run_id is None:
            self.border_title = f"Trend · {trend.tool_id}"
            plt.title(f"{trend.tool_id} has no run")
        else:
            self.border_title = f"Trend · {trend.tool_id} · run {trend.run_id} · lot {trend.lot_id}"
            if not trend.series:
                plt.title("waiting for samples")
            for name, points in trend.series.items():
                if name != SETPOINT:
                    self._line(points, series_label(name))
            if SETPOINT in trend.series:
                self._line(trend.series[SETPOINT], "SP", color="gray")
            if trend.band and trend.series:
                # The band as far as the run has got, so the x axis stays on the data.
                t_now = max(points[-1][0] for points in trend.series.values())
                seen = [b for b in trend.band if b.t_program <= t_now]
                self._line([(b.t_program, b.setpoint_c - b.band_c) for b in seen], "band", "red")
                self._line([(b.t_program, b.setpoint_c + b.band_c) for b in seen], "", "red")
        self.refresh()

    def _line(
        self, points: list[tuple[float, float]], label: str, color: str | None = None
    ) -> None:
        xs = [t / 60.0 for t, _ in points]
        ys = [v for _, v in points]
        if color is None:
            self.plt.plot(xs, ys, label=label, marker="braille")
        else:
            self.plt.plot(xs, ys, label=label, marker="braille", color=color)
