package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// peerGraph returns the graph of the nodes' connections among themselves in
// the form of topology: for each node, the earlier nodes it is connected to
// (as either end lists the other in GET /peers).
func peerGraph(ctx context.Context, nodes []*node) ([][]int, error) {
	index := make(map[string]int, len(nodes))
	for i, nd := range nodes {
		index[nd.peerID] = i
	}
	linked := make([]map[int]bool, len(nodes))
	for i := range linked {
		linked[i] = make(map[int]bool)
	}
	for i, nd := range nodes {
		peers, err := nd.Client().Peers(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", nd.Name(), err)
		}
		for _, p := range peers {
			if j, ok := index[p.ID]; ok && j != i {
				linked[max(i, j)][min(i, j)] = true
			}
		}
	}
	graph := make([][]int, len(nodes))
	for i, m := range linked {
		for j := range m {
			graph[i] = append(graph[i], j)
		}
		slices.Sort(graph[i])
	}
	return graph, nil
}

// The nodes' graph is measured once it has not changed for graphStable, or
// after graphWait: discovery keeps dialling for a while after the bootstrap
// connections.
const (
	graphStable = 3 * time.Second
	graphWait   = 30 * time.Second
)

// stableGraph returns the nodes' graph (peerGraph) once it has not changed
// for stable, or as it is after wait.
func stableGraph(ctx context.Context, nodes []*node, stable, wait time.Duration) ([][]int, error) {
	graph, err := peerGraph(ctx, nodes)
	if err != nil {
		return nil, err
	}
	deadline, since := time.Now().Add(wait), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < stable {
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
		g, err := peerGraph(ctx, nodes)
		if err != nil {
			return nil, err
		}
		if !slices.EqualFunc(g, graph, slices.Equal) {
			graph, since = g, time.Now()
		}
	}
	return graph, nil
}

// degreeStats describes the degrees of a network: "mean 7.8 (min 6, max 9)".
func degreeStats(deg []int) string {
	if len(deg) == 0 {
		return "n/a"
	}
	sum := 0
	for _, d := range deg {
		sum += d
	}
	return fmt.Sprintf("mean %.1f (min %d, max %d)", float64(sum)/float64(len(deg)), slices.Min(deg), slices.Max(deg))
}
