//! `koi bench search`: message search over a large embedded store.
//!
//! Unlike the other modes this one does not drive a running node: storing a
//! million messages through the protocol would measure sending, not search.
//! It loads the messages with the embedded store itself (`SqliteStore`, the
//! node's own store, through its writer: the same journal, moves and index
//! as a node's messages), reopens it (as a node starting on that data
//! directory would), then times `Store::search`, the whole of a `search`
//! request but its checks and its round trip, for random users and queries.
//!
//! The corpus: `--users` users, each talking with 20 others (direct
//! conversations), messages of 6–14 words drawn from a vocabulary of Latin
//! pseudo-words, one in ten in Cyrillic pseudo-words, one in ten a run of
//! Chinese characters. Queries: one word (40 %), two words (30 %), a
//! three-letter prefix (20 %), two Chinese characters (10 %).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use koi_core::{ConvId, Search, UserId};
use koi_store::sqlite::SqliteStore;
use koi_store::{NewMessage, NewUser, Store};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};
use serde::Serialize;

use super::latency::{Latency, Summary};

/// What to load and how many queries to time.
#[derive(Debug, Clone, Args)]
pub struct SearchBenchArgs {
    /// The data directory; the store is loaded only when it holds none yet.
    #[arg(long)]
    pub data: PathBuf,
    /// Messages to store.
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: u64,
    /// Users (each in 20 direct conversations).
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Queries to time.
    #[arg(long, default_value_t = 5_000)]
    pub queries: u64,
    /// Appends in flight while loading.
    #[arg(long, default_value_t = 512)]
    pub concurrency: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The report.
#[derive(Debug, Serialize)]
struct Report {
    messages: u64,
    users: u64,
    load_s: Option<f64>,
    load_msgs_per_s: Option<f64>,
    queries: u64,
    mean_hits: f64,
    latency: Summary,
}

/// A generator seeded the same way on every run: the corpus and the queries
/// are the same on every run with the same arguments.
struct Rng(StdRng);

impl Rng {
    fn seeded(seed: u64) -> Self {
        Self(StdRng::seed_from_u64(seed))
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.random_range(0..n.max(1))
    }
}

const LATIN: [&str; 16] = [
    "ka", "to", "ri", "mu", "ne", "sa", "lo", "vi", "de", "po", "ha", "ze", "bu", "fi", "go", "wa",
];
const CYRILLIC: [&str; 8] = ["да", "ко", "ми", "ру", "ве", "ло", "ны", "жа"];
const CHINESE: &str = "我你他们的是不了在人有这中大来上国个到说时要就出会可也对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵瑞湿胞窝侍愉坑葬迪闲仿泰雕贫棋溜冶跨吞琴漂涉邦胶盯咱翅劲鸭昂蓄巡"; // common characters

/// The `i`-th word of a vocabulary of `size` built from `syllables`.
fn word(syllables: &[&str], mut i: u64) -> String {
    let n = syllables.len() as u64;
    let mut word = String::new();
    for _ in 0..3 {
        word.push_str(syllables[(i % n) as usize]);
        i /= n;
    }
    word
}

/// One message's text.
fn text(rng: &mut Rng, chinese: &[char]) -> String {
    let words = 6 + rng.below(9);
    match rng.below(10) {
        0 => (0..words * 2)
            .map(|_| chinese[rng.below(chinese.len() as u64) as usize])
            .collect(),
        1 => (0..words)
            .map(|_| word(&CYRILLIC, rng.below(512)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => (0..words)
            .map(|_| word(&LATIN, rng.below(4096)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// One query.
fn query(rng: &mut Rng, chinese: &[char]) -> String {
    match rng.below(10) {
        0..=3 => word(&LATIN, rng.below(4096)),
        4..=6 => format!(
            "{} {}",
            word(&LATIN, rng.below(4096)),
            word(&LATIN, rng.below(4096))
        ),
        7 | 8 => word(&LATIN, rng.below(4096))[..3].to_owned(),
        _ => (0..2)
            .map(|_| chinese[rng.below(chinese.len() as u64) as usize])
            .collect(),
    }
}

fn user(i: u64) -> anyhow::Result<UserId> {
    UserId::parse(&format!("u{i}")).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The `k`-th of user `i`'s 20 peers.
fn peer(i: u64, k: u64, users: u64) -> u64 {
    (i + 1 + k * 7919) % users
}

/// Loads the corpus; messages per second.
async fn load(store: Arc<SqliteStore>, args: &SearchBenchArgs) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut creating = tokio::task::JoinSet::new();
    for first in 0..64 {
        let (store, users) = (store.clone(), args.users);
        creating.spawn(async move {
            for i in (first..users).step_by(64) {
                let name = user(i)?;
                let password_hash = "-".into();
                store
                    .create_user(NewUser {
                        name,
                        password_hash,
                        display_name: None,
                    })
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = creating.join_next().await {
        done??;
    }
    let chinese: Arc<Vec<char>> = Arc::new(CHINESE.chars().collect());
    let per_task = args.messages.div_ceil(args.concurrency.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..args.concurrency.max(1) {
        let (store, chinese, users) = (store.clone(), chinese.clone(), args.users);
        let count = per_task.min(args.messages.saturating_sub(t * per_task));
        tasks.spawn(async move {
            let mut rng = Rng::seeded(t);
            for _ in 0..count {
                let from = rng.below(users);
                let to = peer(from, rng.below(20), users);
                let message = NewMessage {
                    conv: ConvId::direct(&user(from)?, &user(to)?),
                    from: format!("u{from}"),
                    kind: "text".into(),
                    text: Some(text(&mut rng, &chinese)),
                    file: None,
                    meta: None,
                    client_msg_id: String::new(),
                    origin: None,
                    extra: Default::default(),
                };
                store.append(message).await?;
            }
            anyhow::Ok(())
        });
    }
    let mut last = Instant::now();
    while let Some(done) = tasks.join_next().await {
        done??;
        if last.elapsed().as_secs() >= 10 {
            progress!(
                "loading: {} of {} tasks left",
                tasks.len(),
                args.concurrency
            );
            last = Instant::now();
        }
    }
    Ok(args.messages as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(args: SearchBenchArgs) -> anyhow::Result<()> {
    let path = args.data.join("koi.db");
    let mut loaded = None;
    let started = Instant::now();
    if !path.exists() {
        progress!("loading {} messages into {}", args.messages, path.display());
        let store = Arc::new(SqliteStore::open(&path).context("open the store")?);
        loaded = Some(load(store, &args).await?);
    }
    let load_s = loaded.map(|_| started.elapsed().as_secs_f64());
    // Reopening moves what the journal still holds into `messages`, as a
    // node starting on this directory would.
    let store = SqliteStore::open(&path).context("reopen the store")?;
    progress!("timing {} queries", args.queries);
    let chinese: Vec<char> = CHINESE.chars().collect();
    let latency = Latency::new();
    let mut recorder = latency.recorder();
    let mut rng = Rng::seeded(u64::MAX);
    let mut hits = 0u64;
    for _ in 0..args.queries {
        let search = Search::from_request(&koi_proto::Search {
            q: query(&mut rng, &chinese),
            ..Default::default()
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let who = user(rng.below(args.users))?;
        let began = Instant::now();
        let found = store.search(&who, &search).await?;
        recorder.record(began.elapsed());
        hits += found.len() as u64;
    }
    drop(recorder);
    let report = Report {
        messages: args.messages,
        users: args.users,
        load_s,
        load_msgs_per_s: loaded,
        queries: args.queries,
        mean_hits: hits as f64 / args.queries.max(1) as f64,
        latency: latency.summary(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let l = &report.latency;
        println!(
            "search over {} messages, {} users: {} queries, {:.2} hits each; \
             p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            report.messages,
            report.users,
            report.queries,
            report.mean_hits,
            l.p50_ms,
            l.p90_ms,
            l.p99_ms,
            l.max_ms
        );
        if let (Some(s), Some(rate)) = (report.load_s, report.load_msgs_per_s) {
            println!("loaded in {s:.1} s ({rate:.0} msgs/s)");
        }
    }
    Ok(())
}
